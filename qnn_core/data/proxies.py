"""A data set's images re-made the way people's own would reach the app: drawn on a canvas, written with a
pen on paper, or photographed with a phone.

People's drawings differ from any data set: a canvas stroke is thick, a pen on paper is thin and grey on
uneven paper, a phone photo is blurred, tilted, unevenly lit and JPEG-compressed, and any of them may be
dark on light or light on dark, small or large, anywhere in the frame. Each proxy image takes one data-set
image through such a rendering and then through `preprocess.prepare`, exactly as an upload is prepared, so
a model measured on them is measured on what a user's picture gives it. Made from the test split they are a
test proxy; made from the validation images they are the one to choose and calibrate on.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

from qnn_core.preprocess.image import ImageInputError, prepare
from qnn_core.tasks import TaskSpec

STYLES = ("canvas", "pen", "photo")


def _ink_layer(image: np.ndarray, rng: np.random.Generator, thicken: int) -> tuple[Image.Image, int]:
    """The image's ink (bright on dark) enlarged to a random height, strokes thickened by `thicken` pixels.
    A cell becomes a square, a line of characters keeps its shape."""
    side = int(rng.integers(90, 230))
    h, w = image.shape
    ink = Image.fromarray(image).resize((max(1, round(w * side / h)), side), Image.Resampling.BICUBIC)
    if thicken > 1:
        ink = ink.filter(ImageFilter.MaxFilter(thicken | 1))
    return ink, side


def _frame(ink: Image.Image, side: int, rng: np.random.Generator) -> Image.Image:
    """The ink placed off-centre on a larger frame (what is around a drawing in a user's picture)."""
    size = int(rng.integers(side + 20, side + 200))
    pad = size - side
    frame = Image.new("L", (ink.size[0] + pad, ink.size[1] + pad), 0)
    frame.paste(ink, (int(rng.integers(0, pad + 1)), int(rng.integers(0, pad + 1))))
    return frame


def _on_paper(ink: Image.Image, rng: np.random.Generator, ink_level: int, lighting: float) -> Image.Image:
    """Dark ink on light paper whose brightness falls off across the frame (a lamp or a window to one side)."""
    a = np.asarray(ink, np.float32) / 255
    h, w = a.shape
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:h, 0:w] / max(h, w)
    paper = rng.uniform(200, 250) * (1 - lighting * (np.cos(angle) * xs + np.sin(angle) * ys))
    out = paper * (1 - a) + ink_level * a
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def render(image: np.ndarray, style: str, rng: np.random.Generator) -> Image.Image:
    """One data-set image, or a line of them (uint8, ink bright), as a user's picture of it, in one of STYLES."""
    if style == "canvas":  # thick strokes, flat colours, either polarity
        ink, side = _ink_layer(image, rng, int(rng.integers(1, max(3, int(0.09 * 230)))))
        frame = _frame(ink, side, rng)
        pic = _on_paper(frame, rng, int(rng.integers(0, 60)), 0.0)
    elif style == "pen":  # thin grey ink on unevenly lit paper, softened
        ink, side = _ink_layer(image, rng, 1)
        frame = _frame(ink, side, rng)
        pic = _on_paper(frame, rng, int(rng.integers(20, 110)), rng.uniform(0.0, 0.12))
        pic = pic.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    elif style == "photo":  # a phone's picture of the paper: tilted, blurred, noisy, JPEG-compressed
        ink, side = _ink_layer(image, rng, int(rng.integers(1, 6)))
        frame = _frame(ink, side, rng)
        frame = frame.rotate(rng.uniform(-12, 12), resample=Image.Resampling.BICUBIC)  # the page, tilted
        pic = _on_paper(frame, rng, int(rng.integers(20, 100)), rng.uniform(0.05, 0.2))
        pic = pic.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 2.5)))
        noisy = np.asarray(pic, np.float32) + rng.normal(0, rng.uniform(2, 8), pic.size[::-1])
        pic = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
        buf = io.BytesIO()
        pic.convert("RGB").save(buf, format="JPEG", quality=int(rng.integers(30, 80)))
        pic = Image.open(io.BytesIO(buf.getvalue()))
    else:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    if rng.random() < 0.3:  # light on dark: a dark-mode canvas, chalk on a board, an inverted scan
        pic = Image.fromarray(255 - np.asarray(pic.convert("L")))
    return pic.convert("RGB")


def proxy(images: np.ndarray, task: TaskSpec, seed: int, styles: tuple[str, ...] = STYLES) -> np.ndarray:
    """Each image re-made in a style taken in turn from `styles` and prepared like an upload: (N, size, size)
    uint8. A rendering that prepare refuses (its ink lost to blur or lighting) keeps the original image."""
    rng = np.random.default_rng([seed, 7])
    out = np.empty((len(images), task.input.size, task.input.size), np.uint8)
    for i, image in enumerate(images):
        try:
            out[i] = np.round(prepare(render(image, styles[i % len(styles)], rng), task).pixels * 255)
        except ImageInputError:
            out[i] = image
    return out
