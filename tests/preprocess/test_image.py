"""Every kind of user image maps into the training distribution, and every bad one gets a clear error."""

import io

import numpy as np
import pytest
from helpers import draw_digit_one
from PIL import Image

from qnn_core.preprocess.image import (
    EmptyImageError,
    ImageInputError,
    fit_ink,
    ink_map,
    open_image,
    prepare,
    to_user_image,
    uneven_background,
)
from qnn_core.tasks import get_task

MNIST = get_task("mnist")


def _png(img: Image.Image, fmt="PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    "ink,bg",
    [
        ((0, 0, 0, 255), (255, 255, 255, 255)),  # dark on light
        ((255, 255, 255, 255), (0, 0, 0, 255)),  # light on dark
        ((30, 30, 200, 255), (0, 0, 0, 0)),
    ],
)  # coloured strokes, transparent canvas
def test_canvas_maps_to_mnist_form(ink, bg):
    prepared = prepare(_png(draw_digit_one(ink=ink, background=bg)), MNIST)
    px = prepared.pixels
    assert prepared.tensor.shape == (1, 1, 28, 28)
    assert px.max() > 0.9 and px[0].max() == 0 and px[:, 0].max() == 0  # ink bright, background black
    rows, cols = np.flatnonzero(px.max(1) > 0.2), np.flatnonzero(px.max(0) > 0.2)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (19, 20, 21)  # fitted into the 20x20 box
    ys, xs = np.indices(px.shape)
    assert abs((px * ys).sum() / px.sum() - 13.5) < 1.5 and abs((px * xs).sum() / px.sum() - 13.5) < 1.5


def test_polarities_agree():
    a = prepare(_png(draw_digit_one()), MNIST).pixels
    b = prepare(_png(draw_digit_one(ink=(255, 255, 255, 255), background=(0, 0, 0, 255))), MNIST).pixels
    c = prepare(_png(draw_digit_one(ink=(0, 0, 0, 255), background=(0, 0, 0, 0))), MNIST).pixels
    assert np.abs(a - b).max() < 0.05 and np.abs(a - c).max() < 0.05


@pytest.mark.parametrize("dark_ink", [True, False])
def test_unevenly_lit_paper_is_taken_out(dark_ink):
    """A photo lit from one side: its darker paper must not count as ink (the crop would take in the shadow)."""
    drawing = np.asarray(draw_digit_one().convert("L"), np.float32) / 255  # dark ink on white
    ys, xs = np.indices(drawing.shape) / drawing.shape[0]
    light = 0.95 - 0.35 * xs - 0.1 * ys  # paper from 0.95 down to 0.5 across the frame
    photo = drawing * light if dark_ink else 1 - drawing * light
    img = Image.fromarray(np.round(photo * 255).astype(np.uint8))
    even = prepare(_png(draw_digit_one()), MNIST).pixels
    assert np.abs(prepare(_png(img), MNIST).pixels - even).max() < 0.25
    # Without the fitted paper, the same picture is cropped to the shadow: the check above can fail.
    grey = np.asarray(img, np.float32) / 255
    naive = np.clip((np.median(grey[0]) - grey) if dark_ink else (grey - np.median(grey[0])), 0, 1)
    assert (naive / naive.max() > 0.2).mean() > 2 * (ink_map(img) > 0.2).mean()


def test_even_paper_keeps_its_single_background_level():
    img = draw_digit_one()
    grey = np.asarray(img.convert("L"), np.float32) / 255
    assert uneven_background(grey, 1 - grey, dark_ink=True) is None
    assert np.array_equal(ink_map(img), np.clip((1 - grey) / (1 - grey).max(), 0, 1))


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "BMP", "GIF"])
def test_formats(fmt):
    img = draw_digit_one().convert("RGB")
    assert prepare(_png(img, fmt), MNIST).pixels.max() > 0.5


def test_gif_first_frame():
    frames = [draw_digit_one().convert("P"), Image.new("P", (300, 300), 0)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    assert prepare(buf.getvalue(), MNIST).pixels.max() > 0.5


def test_box_centring_for_garments():
    prepared = prepare(_png(draw_digit_one()), get_task("fashion"))
    rows = np.flatnonzero(prepared.pixels.max(1) > 0.2)
    assert rows[-1] - rows[0] + 1 >= 27  # fitted to the full 28 px like Fashion-MNIST


def test_overlay_maps_back_onto_the_drawing():
    img = draw_digit_one()
    ink = ink_map(img)
    pixels, placement = fit_ink(ink, MNIST.input)
    back = to_user_image(pixels, placement)
    assert back.shape == ink.shape
    overlap = ((back > 0.3) & (ink > 0.3)).sum() / (ink > 0.3).sum()
    assert overlap > 0.8


@pytest.mark.parametrize(
    "data,message",
    [
        (b"this is not an image", "not an image"),
        (b"", "empty"),
    ],
)
def test_not_an_image(data, message):
    with pytest.raises(ImageInputError, match=message):
        prepare(data, MNIST)


def test_truncated_file():
    data = _png(draw_digit_one())
    with pytest.raises(ImageInputError, match="corrupt|truncated|not an image"):
        prepare(data[: len(data) // 2], MNIST)


def test_unsupported_type():
    with pytest.raises(ImageInputError, match="unsupported"):
        prepare(_png(draw_digit_one().convert("RGB"), "PPM"), MNIST)


def test_blank_canvas():
    with pytest.raises(EmptyImageError):
        prepare(_png(Image.new("RGBA", (300, 300), (0, 0, 0, 0))), MNIST)
    with pytest.raises(EmptyImageError):
        prepare(_png(Image.new("RGB", (300, 300), (255, 255, 255))), MNIST)


def test_single_dot():
    img = Image.new("RGB", (300, 300), "white")
    img.putpixel((150, 150), (0, 0, 0))
    img.putpixel((151, 150), (0, 0, 0))
    with pytest.raises(EmptyImageError, match="dot"):
        prepare(_png(img), MNIST)


def test_decompression_bomb():
    bomb = Image.new("1", (9000, 9000), 0)  # 81 megapixels, a few kB as PNG
    with pytest.raises(ImageInputError, match="too large"):
        prepare(_png(bomb), MNIST)


def test_missing_file(tmp_path):
    with pytest.raises(ImageInputError, match="no such file"):
        open_image(tmp_path / "nope.png")
