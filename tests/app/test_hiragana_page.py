"""AppTest of the Hiragana page: the stroke-order table, one drawn kana, and a word read against EDICT."""

import io

import numpy as np
from helpers import ROOT
from streamlit.testing.v1 import AppTest

from qnn_core.data.compose import SMALL_KANA_LINE, compose_line, spell
from qnn_core.data.kana_strokes import kana_strokes
from qnn_core.data.loaders import load_split
from qnn_core.data.strokes import CanvasStyle, render_canvas
from qnn_core.tasks import get_task

TASK = get_task("hiragana")
PAGE = "app_pages/hiragana.py"


def _png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=180).run()
    assert not at.exception
    return at


def test_page_shows_the_71_kana_table_and_reads_a_drawn_kana():
    at = _page()
    assert at.title[0].value == "Hiragana"
    table = [c for img in at.image for c in img.captions]
    assert "あ (a)" in table and "ぽ (po)" in table and len(table) >= 71
    drawing = render_canvas(kana_strokes("あ"), CanvasStyle(stroke_width=16, letter_size=0.7))
    at.get("file_uploader")[0].upload("a.png", _png(drawing), "image/png")
    at.run()
    assert not at.exception
    shown = [m.value for m in at.markdown if "qnn-label" in m.value]
    assert len(shown) == 1 and "あ (a)" in shown[0]


def test_word_mode_reads_a_word_with_small_kana_and_gives_its_meaning():
    at = _page()
    at.segmented_control(key="hiragana_mode").set_value("Word").run()
    test = load_split(TASK, "test")
    rng = np.random.default_rng(3)
    word = "がっこう"
    labels, small = spell(word, TASK.classes)
    cells = [test.images[rng.choice(np.flatnonzero(test.labels == c))] for c in labels]
    image = compose_line(cells, labels, rng, SMALL_KANA_LINE, polarity="dark-on-light", small=small).image
    at.get("file_uploader")[0].upload("word.png", image, "image/png")
    at.run()
    assert not at.exception
    line = [m.value for m in at.markdown if "qnn-line" in m.value]
    assert any(word in m and "school" in m for m in line), line
    assert any("EDICT dictionary file" in c.value for c in at.caption)
