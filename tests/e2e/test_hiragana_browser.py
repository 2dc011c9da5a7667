"""The Hiragana page in a real headless Chromium: あ drawn on the canvas, a three-kana word on the wide canvas.

The strokes are KanjiVG's own (the reference table's), drawn with pointer events. QNN_SAVE_SCREENSHOTS=1
writes the screenshots into docs/screenshots/ (hiragana.png, hiragana_word.png).
"""

from __future__ import annotations

import os
import time

import pytest

from qnn_core.data.kana_strokes import kana_strokes

from .browser_helpers import FIND_CANVAS, ROOT, new_driver, require_chromium, streamlit_server
from .browser_helpers import draw_strokes as _draw_strokes
from .browser_helpers import shown_label as _shown_label
from .browser_helpers import wait_for as _wait_for

pytestmark = pytest.mark.e2e
SHOTS = ROOT / "docs" / "screenshots"
WORD = "さくら"  # sakura, cherry blossom


@pytest.fixture(scope="module")
def server():
    with streamlit_server(timeout=180) as (url, _proc):
        yield url


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    driver = new_driver()
    yield driver
    driver.quit()


def _kana(char: str, left: float, top: float, size: float) -> list[list[tuple[float, float]]]:
    """KanjiVG's strokes of one kana in page coordinates, its 109-unit box scaled to `size` pixels."""
    return [[(left + x / 109 * size, top + y / 109 * size) for x, y in stroke[::3]] for stroke in kana_strokes(char)]


def _shot(driver, name: str, tmp_path_factory) -> None:
    folder = SHOTS if os.environ.get("QNN_SAVE_SCREENSHOTS") == "1" else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    time.sleep(1.5)
    driver.save_screenshot(str(folder / f"{name}.png"))


def test_draw_a_on_the_canvas(server, browser, tmp_path_factory):
    browser.get(f"{server}/hiragana")
    left, top, width, height = _wait_for(
        browser, lambda: browser.execute_script(FIND_CANVAS), what="the drawing canvas", timeout=180
    )
    _draw_strokes(browser, (0, 0, 1, 1), _kana("あ", left + 0.1 * width, top + 0.1 * height, 0.8 * height))
    # The page reruns after every stroke: wait for the reading of the whole drawing, not of its first strokes.
    try:
        _wait_for(browser, lambda: _shown_label(browser) == "あ (a)", what="the label あ (a)", timeout=120)
    finally:
        _shot(browser, "hiragana", tmp_path_factory)
    _wait_for(browser, lambda: "Grad-CAM" in browser.page_source, what="the Grad-CAM overlay", timeout=120)
    _shot(browser, "hiragana", tmp_path_factory)


def test_write_a_word_on_the_wide_canvas(server, browser, tmp_path_factory):
    browser.get(f"{server}/hiragana")
    _wait_for(browser, lambda: browser.execute_script(FIND_CANVAS), what="the drawing canvas", timeout=180)
    browser.execute_script("[...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Word').click()")
    left, top, width, height = _wait_for(
        browser, lambda: (r := browser.execute_script(FIND_CANVAS)) and r[2] > 600 and r, what="the wide canvas"
    )
    size = 0.7 * height
    strokes = [
        stroke
        for i, ch in enumerate(WORD)
        for stroke in _kana(ch, left + 0.05 * width + i * 1.3 * size, top + 0.15 * height, size)
    ]
    _draw_strokes(browser, (0, 0, 1, 1), strokes)

    def shown() -> str:
        return browser.execute_script(
            "const el = document.querySelector('.qnn-line'); return el ? el.parentElement.textContent : '';"
        )

    try:
        _wait_for(browser, lambda: WORD in shown() and "cherry" in shown(), what=f"the word {WORD}", timeout=120)
    finally:
        _shot(browser, "hiragana_word", tmp_path_factory)
    browser.execute_script("document.querySelector('.qnn-line').scrollIntoView(); window.scrollBy(0, -160)")
    _shot(browser, "hiragana_word", tmp_path_factory)
