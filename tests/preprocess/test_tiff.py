"""TIFF in any mode PIL reads (L, RGB, I;16, F) is accepted, and high-bit-depth greyscale is scaled, not clipped:
through `prepare` for a drawing, through the photo path, and through `qnn predict`."""

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT, draw_digit_one
from PIL import Image

from qnn_core.preprocess.image import ALLOWED_FORMATS, UPLOAD_EXTENSIONS, eight_bit, open_image, prepare
from qnn_core.tasks import get_task

MNIST, ANIMALS = get_task("mnist"), get_task("animals")
MODES = ("L", "RGB", "I;16", "F")


def digit_in(mode: str, full_scale: float | None = None) -> Image.Image:
    """The drawn '1' (dark on light) in `mode`: I;16 spans 0..65535 (or 0..full_scale), F spans 0..1."""
    grey = np.asarray(draw_digit_one().convert("L"), dtype=np.float64) / 255.0
    if mode in ("L", "RGB"):
        return draw_digit_one().convert(mode)
    if mode == "I;16":
        return Image.fromarray(np.round(grey * (full_scale or 65535)).astype(np.uint16))
    return Image.fromarray((grey * (full_scale or 1.0)).astype(np.float32))


def tiff(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="TIFF")
    return buf.getvalue()


def test_tiff_is_an_upload_format():
    assert "TIFF" in ALLOWED_FORMATS
    assert {"tif", "tiff", "png", "jpg", "jpeg"} <= set(UPLOAD_EXTENSIONS)


@pytest.mark.parametrize("mode", MODES)
def test_tiff_modes_open_as_the_same_picture(mode):
    data = tiff(digit_in(mode))
    assert Image.open(io.BytesIO(data)).mode == mode  # really that mode on disk
    img = open_image(data)
    assert img.mode in ("L", "RGB")
    grey = np.asarray(img.convert("L"), dtype=np.float32)
    want = np.asarray(draw_digit_one().convert("L"), dtype=np.float32)
    assert np.abs(grey - want).max() <= 1  # scaled to 0..255, not clipped (white) or truncated (black)


@pytest.mark.parametrize("mode", MODES)
def test_tiff_drawing_prepares_like_the_png(mode):
    want = prepare(draw_digit_one(), MNIST).pixels
    got = prepare(tiff(digit_in(mode)), MNIST)
    assert got.tensor.shape == (1, 1, 28, 28)
    assert np.abs(got.pixels - want).max() < 0.02


@pytest.mark.parametrize("mode", MODES)
def test_tiff_photo_path(mode):
    want = prepare(draw_digit_one().convert("L"), ANIMALS).pixels
    got = prepare(tiff(digit_in(mode)), ANIMALS)
    assert got.pixels.shape == (ANIMALS.input.size, ANIMALS.input.size, 3)
    assert got.tensor.shape == (1, 3, ANIMALS.input.size, ANIMALS.input.size)
    assert np.abs(got.pixels - want).max() < 0.02


@pytest.mark.parametrize("mode,full_scale", [("I;16", 4095), ("I;16", 255), ("F", 255.0), ("F", 1e6)])
def test_high_bit_depth_ranges_fill_the_8_bit_range(mode, full_scale):
    """A 12-bit scan in a 16-bit file, float pixels in 0..255 or far beyond: the ink is still found, at full contrast."""
    img = eight_bit(digit_in(mode, full_scale))
    a = np.asarray(img)
    assert img.mode == "L" and a.max() == 255 and a.min() == 0
    assert (
        np.abs(prepare(tiff(digit_in(mode, full_scale)), MNIST).pixels - prepare(draw_digit_one(), MNIST).pixels).max()
        < 0.02
    )


def test_negative_floats_are_stretched_and_nans_are_background():
    a = np.asarray(draw_digit_one().convert("L"), dtype=np.float32) / 127.5 - 1.0  # -1..1
    a[0, :5] = np.nan
    out = np.asarray(eight_bit(Image.fromarray(a)))
    assert out.max() == 255 and out[150, 150] in (0, 255) and out[0, 0] == 0


def test_predict_cli_reads_tif_files(tmp_path):
    files = []
    for mode in MODES:
        path = tmp_path / f"one_{mode.replace(';', '')}.tif"
        path.write_bytes(tiff(digit_in(mode)))
        files.append(str(path))
    r = subprocess.run(
        [sys.executable, "-m", "qnn_core", "predict", "--task", "mnist", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["file"] for row in rows] == files
    assert {row["label"] for row in rows} == {"1"}, rows
