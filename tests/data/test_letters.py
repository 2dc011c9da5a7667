"""The letters task: stroke renderer, synthetic handwriting, writer split, EMNIST orientation, training path."""

import gzip

import numpy as np
import pytest
from PIL import Image

from qnn_core.data import letters
from qnn_core.data.loaders import load_split
from qnn_core.data.strokes import CanvasStyle, render_canvas, render_input, render_many
from qnn_core.data.synthetic_letters import FONTS, LETTERS, generate, glyph
from qnn_core.preprocess.image import EmptyImageError, ink_map, prepare
from qnn_core.tasks import get_task

TASK = get_task("letters")
A_STROKES = [[(0, 100), (50, 0), (100, 100)], [(25, 50), (75, 50)]]  # an "A": two strokes


def test_renderer_is_deterministic_for_a_seed():
    samples = [s.strokes for s in letters.writer_samples("val")[:12]]
    a, b = render_many(samples, TASK, seed=3), render_many(samples, TASK, seed=3)
    assert a.shape == (12, 28, 28) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, render_many(samples, TASK, seed=4))


@pytest.mark.parametrize("background", ["opaque", "transparent"])
def test_both_polarities_come_out_right(background):
    dark = render_canvas(A_STROKES, CanvasStyle(polarity="dark-on-light", background=background, ink=0, paper=255))
    light = render_canvas(A_STROKES, CanvasStyle(polarity="light-on-dark", background=background, ink=0, paper=255))
    for img in (dark, light):
        assert img.size == (280, 280)
    if background == "opaque":
        d, l = np.asarray(dark.convert("L")), np.asarray(light.convert("L"))
        assert d[0, 0] == 255 and d[140, 140 - 1 : 140 + 2].min() == 0  # white paper, black crossbar
        assert l[0, 0] == 0 and l[140, 140 - 1 : 140 + 2].max() == 255  # black paper, white crossbar
    else:
        for img in (dark, light):
            alpha = np.asarray(img)[..., 3]
            assert img.mode == "RGBA" and alpha[0, 0] == 0 and alpha[140, 140] == 255
    # Whatever the polarity, the ink is where the strokes are and the model sees the same picture.
    assert np.allclose(ink_map(dark), ink_map(light), atol=0.02)
    a = render_input(A_STROKES, TASK, CanvasStyle(polarity="dark-on-light", background=background))
    b = render_input(A_STROKES, TASK, CanvasStyle(polarity="light-on-dark", background=background))
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 2
    assert a[:4].max() == 0 and a.max() == 255  # a margin above, full-strength ink


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_one_point_stroke_is_a_round_dot(mode):
    img = render_canvas([[(5, 5)]], CanvasStyle(stroke_width=20, mode=mode, centre=(0.5, 0.5)))
    assert img.mode == mode
    ink = np.asarray(img.convert("L")) < 128
    ys, xs = np.nonzero(ink)
    assert 19 <= xs.max() - xs.min() + 1 <= 21 and 19 <= ys.max() - ys.min() + 1 <= 21
    assert abs(ink.sum() - np.pi * 10**2) < 40  # a disc, not a square
    assert abs(xs.mean() - 140) < 1 and abs(ys.mean() - 140) < 1
    small = render_canvas([[(5, 5), (5, 5)]], CanvasStyle(stroke_width=6, mode=mode))  # a repeated point too
    assert 20 <= (np.asarray(small.convert("L")) < 128).sum() <= 45  # about pi * 3**2
    with pytest.raises(EmptyImageError, match="dot"):  # the app turns a lone pen-sized dot away, as for a user
        prepare(small, TASK)


def test_strokes_use_round_caps_and_the_stroke_width():
    thin = render_canvas([[(0, 0), (100, 0)]], CanvasStyle(stroke_width=6))
    thick = render_canvas([[(0, 0), (100, 0)]], CanvasStyle(stroke_width=24))
    t, k = (np.asarray(i.convert("L")) < 128 for i in (thin, thick))
    assert 5 <= t.any(1).sum() <= 7 and 23 <= k.any(1).sum() <= 25
    cols = np.nonzero(k.any(0))[0]  # round caps reach half a width past both ends of the 168-pixel line
    assert 168 + 22 <= cols[-1] - cols[0] + 1 <= 168 + 26


def test_synthetic_generator_covers_every_class_in_both_cases():
    for font in FONTS:
        for ch in LETTERS + LETTERS.upper():
            assert len(glyph(font, ch)) >= 1
    images, labels = generate(52, TASK, seed=0)
    assert sorted(np.bincount(labels, minlength=26)) == [2] * 26
    assert images.shape == (52, 28, 28) and (images.reshape(52, -1).max(1) > 128).all()
    again, _ = generate(52, TASK, seed=0)
    assert np.array_equal(images, again)


def test_writer_split_is_disjoint_and_fixed():
    splits = {name: set(w) for name, w in letters.WRITERS.items()}
    assert {k: len(v) for k, v in splits.items()} == {"train": 40, "val": 5, "test": 10}
    assert not (splits["train"] & splits["val"]) and not (splits["train"] & splits["test"])
    assert not (splits["val"] & splits["test"])
    assert splits["train"] | splits["val"] | splits["test"] == set(range(55))
    for name, writers in splits.items():
        samples = letters.writer_samples(name)
        assert {s.writer for s in samples} == writers
        assert len(samples) == 52 * len(writers)  # every writer's a-z and A-Z
    test = load_split(TASK, "test")
    assert len(test) == 520 and sorted(np.bincount(test.labels)) == [20] * 26


@pytest.mark.slow
def test_emnist_orientation_fix_on_the_real_sample(tmp_path):
    """The registry's EMNIST source transposes the stored images and shifts labels 1..26 to 0..25."""
    raw = np.load(letters.EMNIST_SAMPLE)
    images, labels = raw["images"], raw["labels"]
    for stem, arr in (("test-images-idx3", images), ("test-labels-idx1", labels)):
        header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
        with gzip.open(tmp_path / f"emnist-letters-{stem}-ubyte.gz", "wb") as f:
            f.write(header + arr.astype(np.uint8).tobytes())
    split = load_split(TASK.with_source("emnist"), "test", root=tmp_path)
    assert np.array_equal(split.labels, np.arange(26))
    assert np.array_equal(split.images, images.transpose(0, 2, 1))
    assert np.array_equal(letters.load_emnist_sample(TASK).images, split.images)
    # Upright means readable: the shipped model, which never saw EMNIST, reads the fixed images far
    # better than the stored ones.
    from qnn_core.inference.predict import Predictor

    predictor = Predictor("letters")

    def right(imgs):
        return sum(predictor.predict(Image.fromarray(img)).index == i for i, img in enumerate(imgs))

    fixed, stored = right(split.images), right(images)
    assert fixed >= 18 and fixed >= stored + 8, (fixed, stored)


def test_unknown_source_is_a_clear_error():
    with pytest.raises(KeyError, match="no data source"):
        TASK.with_source("nope")


@pytest.mark.slow
def test_letters_training_path_and_fine_tuning(tmp_path, monkeypatch):
    """The trainer's letters path end to end, on a tiny mix: pretrain, then fine-tune from it on real only."""
    from qnn_core.models.checkpoint import load_checkpoint
    from qnn_core.training.train import TrainConfig, train

    monkeypatch.setattr(letters, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(letters, "N_SYNTHETIC", 52)
    monkeypatch.setattr(letters, "REAL_COPIES", 2)
    monkeypatch.setattr(letters, "VAL_COPIES", 1)
    monkeypatch.setattr(letters, "WRITERS", {"train": (0, 1), "val": (2,), "test": (6,)})
    pre = tmp_path / "pre.pt"
    meta = train(TrainConfig(task="letters", epochs=1, batch_size=32, quantum=False, subset=10_000), pre, quiet=True)
    assert meta["train_size"] == 52 + 2 * 104 and meta["val_size"] == 52
    assert meta["train_config"]["mix"] == "mixed"
    ft = tmp_path / "ft.pt"
    meta = train(
        TrainConfig(
            task="letters", epochs=1, batch_size=32, quantum=False, subset=10_000, mix="real", init=str(pre), lr=1e-4
        ),
        ft,
        quiet=True,
    )
    assert meta["train_size"] == 2 * 104 and meta["init_meta"]["train_size"] == 260
    assert meta["best_epoch"] in (0, 1) and meta["val_accuracy"] >= meta["init_val_accuracy"]
    assert load_checkpoint(ft)[1]["task"] == "letters"


def test_font_letters_are_balanced_fitted_and_name_their_fonts(tmp_path, monkeypatch):
    from qnn_core.data import font_letters

    assert set(font_letters.available()) == set(font_letters.FONTS)  # setup.sh installs every listed font
    task = get_task("letters")
    images, labels = font_letters.generate(52, task, seed=1)
    assert images.shape == (52, 28, 28) and np.bincount(labels, minlength=26).tolist() == [2] * 26
    for img in images:
        rows, cols = np.flatnonzero(img.max(1) > 10), np.flatnonzero(img.max(0) > 10)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 20 and img.max() > 150  # fitted like an upload
    assert np.array_equal(images, font_letters.generate(52, task, seed=1)[0])
    monkeypatch.setattr(font_letters, "FONT_DIRS", (tmp_path,))  # a machine without the Debian packages
    assert font_letters.available() == ()
    with pytest.raises(FileNotFoundError, match="no handwriting font is installed .*fonts-breip"):
        font_letters.generate(1, task, seed=0)
