"""The hiragana task: its 71 classes, KanjiVG strokes, the kana distortions, the splits, training and the card."""

import numpy as np
import pytest

from qnn_core.data import hiragana
from qnn_core.data.kana_strokes import KanaDistortion, kana_distort, kana_strokes, stroke_numbers, stroke_order_image
from qnn_core.tasks import get_task

TASK = get_task("hiragana")


def test_registry_has_the_71_modern_kana_with_unique_romaji():
    assert TASK.num_classes == 71 == len(set(TASK.classes))
    assert TASK.classes[:5] == tuple("あいうえお") and TASK.classes[-5:] == tuple("ぱぴぷぺぽ")
    assert len(set(TASK.display)) == 71, "two classes share a romaji"
    assert TASK.label(0) == "あ (a)"
    romaji = dict(zip(TASK.classes, TASK.display))
    assert (romaji["を"], romaji["ぢ"], romaji["づ"], romaji["ん"], romaji["し"]) == ("wo", "di", "du", "n", "shi")
    assert tuple(TASK.classes) == tuple(hiragana.KANA) and list(TASK.display) == hiragana.ROMAJI
    assert get_task("kmnist").title == "Kuzushiji (KMNIST)" and get_task("kmnist").page_path == "kana"


def test_kanjivg_strokes_in_writing_order():
    a = kana_strokes("あ")
    assert len(a) == 3 and all(s.shape[1] == 2 for s in a)
    assert 0 < np.concatenate(a).min() and np.concatenate(a).max() < 109  # KanjiVG's 109-unit box
    assert len(kana_strokes("が")) == len(kana_strokes("か")) + 2  # the dakuten's two strokes
    assert [n for _, _, n in stroke_numbers("あ")] == ["1", "2", "3"]
    assert stroke_order_image("あ", 64).size == (64, 64)


def test_kana_distortion_is_seeded_and_joins_or_hooks_strokes():
    strokes = kana_strokes("け")
    one = kana_distort(strokes, np.random.default_rng(3))
    again = kana_distort(strokes, np.random.default_rng(3))
    assert all(np.array_equal(a, b) for a, b in zip(one, again))
    joined = kana_distort(strokes, np.random.default_rng(0), KanaDistortion(p_join=1.0, join_reach=10.0))
    assert len(joined) == 1  # every stroke run into the next
    hooked = kana_distort(strokes, np.random.default_rng(0), KanaDistortion(p_hook=1.0, p_tail=0.0, p_join=0.0))
    assert [len(h) for h in hooked] == [len(s) + 4 for s in strokes]  # a hook added at each stroke's end
    plain = kana_distort(strokes, np.random.default_rng(0), KanaDistortion(p_hook=0.0, p_tail=0.0, p_join=0.0))
    assert not np.allclose(plain[0], strokes[0])  # each stroke moved on its own


def test_generators_make_balanced_images_in_the_tasks_input_and_hold_out_fonts():
    strokes = hiragana.make_strokes(1, TASK, seed=5)
    assert strokes.images.shape == (71, 28, 28) and sorted(strokes.labels) == list(range(71))
    assert strokes.images.max() > 200 and (strokes.images > 0).mean() < 0.5  # ink bright on dark, not a blob
    fonts = hiragana.make_fonts(1, TASK, seed=5, fonts=hiragana.TRAIN_FONTS)
    assert fonts.images.shape == (71, 28, 28)
    held_out = set(hiragana.VAL_FONTS) | set(hiragana.TEST_FONTS)
    assert held_out and not held_out & set(hiragana.TRAIN_FONTS)
    assert not set(hiragana.VAL_FONTS) & set(hiragana.TEST_FONTS)
    assert len(set(hiragana.SEEDS.values())) == 3


def test_card_states_the_licences():
    text = " ".join(hiragana.licence_lines())
    assert "KanjiVG" in text and "CC BY-SA 3.0" in text and "same licence" in text
    for package, licence in hiragana.FONTS.values():
        assert package in text and licence in text


@pytest.mark.slow
def test_hiragana_trains_a_tiny_model_and_predicts(tmp_path, monkeypatch):
    """The trainer's hiragana path end to end on a tiny synthetic set, then the Predictor on a drawn kana."""
    from qnn_core.data.strokes import CanvasStyle, render_canvas
    from qnn_core.inference.predict import Predictor
    from qnn_core.models.checkpoint import load_checkpoint
    from qnn_core.training.train import TrainConfig, train

    monkeypatch.setattr(hiragana, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(hiragana, "STROKES_PER_CLASS", 10)
    monkeypatch.setattr(hiragana, "FONT_PER_CLASS", 2)
    monkeypatch.setattr(hiragana, "HELD_OUT_FONT_PER_CLASS", 1)
    hiragana.load_split.cache_clear()
    out = tmp_path / "tiny.pt"
    try:
        train(
            TrainConfig(task="hiragana", epochs=1, batch_size=64, quantum=False, augment="handwriting"), out, quiet=True
        )
    finally:
        hiragana.load_split.cache_clear()
    meta = load_checkpoint(out)[1]
    assert meta["task"] == "hiragana" and meta["train_size"] == 71 * 12
    predictor = Predictor("hiragana", out)
    result = predictor.predict(render_canvas(kana_strokes("あ"), CanvasStyle()))
    assert len(result.probs) == 71 and abs(float(np.sum(result.probs)) - 1) < 1e-4


def test_shipped_cards_carry_the_licence_lines():
    from qnn_core.tasks import CHECKPOINT_DIR

    for kind in ("hybrid", "classical"):
        card = (CHECKPOINT_DIR / f"hiragana_{kind}.md").read_text()
        for line in hiragana.licence_lines():
            assert line in card, (kind, line)
