"""Small kana (ゃ ゅ ょ っ ...): told from their full-size twins by size and position, on composed lines."""

import numpy as np
import pytest

from qnn_core.data.compose import SMALL_KANA_LINE, compose_line, spell
from qnn_core.data.hiragana import stroke_image
from qnn_core.preprocess.image import ink_map, open_image
from qnn_core.sequence.edict import parse, romaji
from qnn_core.sequence.lattice import Lattice, best_path
from qnn_core.sequence.segment import candidates, layout_line, params_for
from qnn_core.sequence.small_kana import small_form, small_probability
from qnn_core.sequence.words import Dictionary, Word, decode
from qnn_core.tasks import get_task

TASK = get_task("hiragana")


def _line(word: str, seed: int):
    """A composed line of `word` from synthetic kana, small kana written small on the baseline."""
    rng = np.random.default_rng(seed)
    labels, small = spell(word, TASK.classes)
    cells = [stroke_image(TASK.classes[k], TASK, rng) for k in labels]
    return compose_line(cells, labels, rng, SMALL_KANA_LINE, small=small), small


@pytest.mark.parametrize("word", ["きょう", "がっこう", "しゃしん", "ちょっと", "きよう"])
@pytest.mark.parametrize("seed", range(6))
def test_small_kana_are_found_by_size_and_position_on_composed_lines(word, seed):
    line, small = _line(word, seed)
    params = params_for("hiragana")
    cands = candidates(layout_line(ink_map(open_image(line.image)), params), params)
    path = best_path(cands.lattice(), count=len(word))
    assert path is not None
    p = small_probability(cands)[path.candidates]
    assert list(p > 0.5) == small, (word, seed, np.round(p, 2))


def test_dictionary_prefers_the_word_whose_small_kana_match_the_line():
    classes = ("き", "よ", "う")
    words = [Word("きよう", "kiyou", "skilful", common=True), Word("きょう", "kyou", "today", common=True)]
    dictionary = Dictionary(words, classes)
    logp = np.log(np.full((3, 3), 0.01))
    for k in range(3):
        logp[k, k] = np.log(0.98)
    lat = Lattice([(0, 1), (1, 2), (2, 3)], logp, np.zeros(3), np.zeros(4), 3)
    _, written_small = decode(lat, dictionary, small=np.array([0.02, 0.95, 0.03]))
    _, written_full = decode(lat, dictionary, small=np.array([0.02, 0.05, 0.03]))
    assert written_small[0].word.kana == "きょう" and written_small[0].accepted
    assert written_full[0].word.kana == "きよう" and written_full[0].accepted
    assert small_form("よ", 0.9) == "ょ" and small_form("よ", 0.1) == "よ" and small_form("か", 0.9) == "か"


def test_edict_readings_become_word_rows_with_romaji():
    lines = [
        "今日 [きょう] /(n-adv,n-t) today/this day/(P)/",
        "器用 [きよう] /(adj-na,n) skillful/handy/(P)/",
        "学校 [がっこう] /(n) school/(P)/",
        "ちょっと /(adv) (uk) a little/(P)/",
        "カメラ /(n) camera/(P)/",
        "字 [じ] /(n) character/",
    ]
    rows = {r["kana"]: r for r in parse(lines)}
    assert set(rows) == {"きょう", "きよう", "がっこう", "ちょっと"}  # katakana and one-kana words left out
    assert rows["きょう"]["english"].startswith("today") and rows["きょう"]["common"]
    assert rows["がっこう"]["written"] == ["学校"]
    assert [romaji(w) for w in ("きょう", "がっこう", "しゃしん", "ちょっと", "を", "ぢ", "づ")] == [
        "kyou",
        "gakkou",
        "shashin",
        "chotto",
        "wo",
        "di",
        "du",
    ]
    with pytest.raises(ValueError, match="not one of the task's characters"):
        spell("カメラ", TASK.classes)
