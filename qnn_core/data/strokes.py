"""Pen strokes -> the image a browser canvas would return -> the model's input.

Real online handwriting (Chars74K, UJI) and the synthetic single-stroke fonts are
all lists of strokes, each a list of (x, y) points with y growing downward, like a
canvas. Drawing them the way a canvas does (round caps and joins, a chosen stroke
width, anywhere on the canvas, dark on light or light on dark, RGB or a
transparent RGBA export) and then sending the picture through
`preprocess.prepare` gives training and test images made exactly like a user's
drawing is made at serving time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from qnn_core.preprocess.image import prepare
from qnn_core.tasks import TaskSpec

Point = tuple[float, float]
Stroke = Sequence[Point]
Strokes = Sequence[Stroke]

JOIN_ANGLE = 0.35  # radians: a turn sharper than this gets a round join drawn (gentler turns show no notch)


@dataclass(frozen=True)
class CanvasStyle:
    """How one drawing is put on the canvas."""

    size: int = 280  # the app's canvas is 280 x 280
    stroke_width: float = 18.0  # canvas pixels (the app's default slider value)
    letter_size: float = 0.6  # longest side of the drawing, as a fraction of the canvas
    centre: Point = (0.5, 0.5)  # where the drawing's box centre lands, as fractions of the canvas
    polarity: str = "dark-on-light"  # or "light-on-dark"
    background: str = "opaque"  # or "transparent" (RGBA, ink opaque, the rest alpha 0)
    mode: str = "RGBA"  # or "RGB" (ignored for a transparent background, which is RGBA)
    ink: int = 0  # grey level of the ink (dark-on-light) ...
    paper: int = 255  # ... and of the background; swapped for light-on-dark


@dataclass(frozen=True)
class StyleRange:
    """The random spread `random_style` draws from; the defaults cover what people do on the app's canvas."""

    size: tuple[int, int] = (200, 400)
    stroke_width: tuple[float, float] = (6.0, 34.0)  # at size 280; scaled with the canvas
    max_width_ratio: float = 0.16  # ...and at most this fraction of the drawing's size (no blobs)
    letter_size: tuple[float, float] = (0.3, 0.85)
    p_light_on_dark: float = 0.3
    p_transparent: float = 0.25
    p_rgb: float = 0.3


def random_style(rng: np.random.Generator, spread: StyleRange = StyleRange()) -> CanvasStyle:
    """A canvas style drawn from `spread` with `rng` (deterministic for a seeded generator)."""
    size = int(rng.integers(spread.size[0], spread.size[1] + 1))
    letter = float(rng.uniform(*spread.letter_size))
    half = letter / 2
    centre = (float(rng.uniform(half, 1 - half)), float(rng.uniform(half, 1 - half)))
    width = min(float(rng.uniform(*spread.stroke_width)) * size / 280, spread.max_width_ratio * letter * size)
    light_on_dark = rng.random() < spread.p_light_on_dark
    transparent = rng.random() < spread.p_transparent
    mode = "RGB" if rng.random() < spread.p_rgb else "RGBA"
    ink, paper = int(rng.integers(0, 70)), int(rng.integers(200, 256))
    return CanvasStyle(
        size=size,
        stroke_width=width,
        letter_size=letter,
        centre=centre,
        polarity="light-on-dark" if light_on_dark else "dark-on-light",
        background="transparent" if transparent else "opaque",
        mode=mode,
        ink=ink,
        paper=paper,
    )


def _fit_to_canvas(strokes: Strokes, style: CanvasStyle) -> list[np.ndarray]:
    """Scale (keeping the aspect ratio) and move the drawing to its place, in supersampled pixels."""
    arrays = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes if len(s)]
    if not arrays:
        raise ValueError("no points to draw")
    pts = np.concatenate(arrays)
    lo, hi = pts.min(0), pts.max(0)
    extent = float((hi - lo).max())
    scale = style.letter_size * style.size / extent if extent > 0 else 1.0
    target = np.array(style.centre) * style.size
    return [(a - (lo + hi) / 2) * scale + target for a in arrays]


def _round_points(pts: np.ndarray) -> np.ndarray:
    """Where a round cap or join must be drawn: both ends, and every vertex that turns sharply."""
    if len(pts) < 3:
        return pts
    d = np.diff(pts, axis=0)
    heading = np.arctan2(d[:, 1], d[:, 0])
    turn = np.abs((np.diff(heading) + np.pi) % (2 * np.pi) - np.pi)
    keep = np.concatenate([[True], turn > JOIN_ANGLE, [True]])
    return pts[keep]


def render_canvas(strokes: Strokes, style: CanvasStyle = CanvasStyle()) -> Image.Image:
    """The picture a browser canvas export of these strokes would be: round caps and joins.

    A stroke of one point (or of one repeated point) is a dot of the stroke's width, as on a canvas.
    """
    width = max(1.0, style.stroke_width)
    mask = Image.new("L", (style.size, style.size), 0)
    draw = ImageDraw.Draw(mask)
    r = width / 2
    for pts in _fit_to_canvas(strokes, style):
        if len(pts) > 1:
            draw.line([tuple(p) for p in pts], fill=255, width=int(round(width)))
        for x, y in _round_points(pts):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    ink, paper = (style.ink, style.paper) if style.polarity == "dark-on-light" else (style.paper, style.ink)
    if style.background == "transparent":
        rgba = Image.new("RGBA", mask.size, (ink, ink, ink, 0))
        rgba.putalpha(mask)
        return rgba
    grey = Image.composite(Image.new("L", mask.size, ink), Image.new("L", mask.size, paper), mask)
    return grey.convert(style.mode if style.mode in ("RGB", "RGBA") else "RGB")


def render_input(strokes: Strokes, task: TaskSpec, style: CanvasStyle = CanvasStyle()) -> np.ndarray:
    """Strokes -> canvas -> the same preprocessing as a user's drawing: uint8 (size, size), ink bright."""
    pixels = prepare(render_canvas(strokes, style), task).pixels
    return np.round(pixels * 255).astype(np.uint8)


def render_many(samples: Sequence[Strokes], task: TaskSpec, seed: int, spread: StyleRange = StyleRange()) -> np.ndarray:
    """Each sample drawn once with its own random canvas style; the same seed gives the same images."""
    rng = np.random.default_rng(seed)
    out = np.zeros((len(samples), task.input.size, task.input.size), np.uint8)
    for i, strokes in enumerate(samples):
        out[i] = render_input(strokes, task, random_style(rng, spread))
    return out
