"""Synthetic handwritten letters: single-stroke vector fonts, bent like a hand bends them.

Real letters are scarce here (55 writers), so the letters model also learns from
letters drawn by a program. The glyphs are Hershey vector fonts (PyPI
`hershey-fonts`): centre-line strokes, like a pen's path, so they go through the
very renderer the real pen strokes go through (`strokes.py`). Each sample:

1. a class (balanced over a..z), a case (half upper, half lower) and a font;
2. the glyph's strokes, resampled to dense points so that bending them bends curves;
3. a random affine map (rotation, slant, width/height ratio);
4. a smooth random "elastic" displacement field (a few low-frequency waves), which
   makes strokes wobble, bulge and lean the way handwriting does;
5. a random canvas (stroke width, size, position, polarity) and the app's preprocessing.

Everything is drawn from one seeded generator: the same seed gives the same images.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from qnn_core.data.strokes import Strokes, StyleRange, random_style, render_input
from qnn_core.tasks import TaskSpec

LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Hershey fonts that look like writing: plain print, single-line roman, two cursive hands, italic.
# Print is most common, as in the real data. (Gothic, Greek and symbol fonts are left out.)
FONTS: dict[str, float] = {
    "futural": 0.3,
    "rowmans": 0.2,
    "cursive": 0.15,
    "scripts": 0.15,
    "timesi": 0.1,
    "futuram": 0.1,
}


@dataclass(frozen=True)
class Distortion:
    """The spread of the random geometry, in units of the glyph's size."""

    rotate_deg: float = 10.0
    slant: float = 0.35  # tan of the largest shear angle, either way
    aspect: tuple[float, float] = (0.7, 1.3)  # width scale relative to height
    elastic: tuple[float, float] = (0.0, 0.07)  # amplitude of the displacement field
    wavelength: tuple[float, float] = (0.5, 1.6)
    waves: int = 3  # plane waves summed per axis


@cache
def _font(name: str):
    from HersheyFonts import HersheyFonts  # PyPI hershey-fonts: bundles its font data, reads nothing online

    font = HersheyFonts()
    font.load_default_font(name)
    return font


@cache
def glyph(font: str, char: str) -> tuple[np.ndarray, ...]:
    """One Hershey glyph as strokes of (x, y) points, y downward (the canvas convention)."""
    strokes = tuple(np.asarray(s, dtype=np.float64) for s in _font(font).strokes_for_text(char) if len(s))
    if not strokes:
        raise ValueError(f"font {font!r} has no strokes for {char!r}")
    return strokes


def resample(stroke: np.ndarray, step: float) -> np.ndarray:
    """Points every `step` units along the stroke (its corners kept), so later bending stays smooth."""
    if len(stroke) < 2:
        return stroke
    seg = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
    t = np.concatenate([[0.0], np.cumsum(seg)])
    if t[-1] == 0:
        return stroke[:1]
    ts = np.union1d(np.arange(0.0, t[-1], step), t)
    return np.stack([np.interp(ts, t, stroke[:, 0]), np.interp(ts, t, stroke[:, 1])], axis=1)


def distort(strokes: Strokes, rng: np.random.Generator, d: Distortion = Distortion()) -> list[np.ndarray]:
    """A random affine map and a smooth elastic displacement applied to every point."""
    arrays = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
    pts = np.concatenate(arrays)
    lo, hi = pts.min(0), pts.max(0)
    size = float(max((hi - lo).max(), 1e-6))
    centre = (lo + hi) / 2
    arrays = [resample(a, size / 40) for a in arrays]
    angle = np.deg2rad(rng.uniform(-d.rotate_deg, d.rotate_deg))
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    shear = np.array([[1.0, -rng.uniform(-d.slant, d.slant)], [0.0, 1.0]])  # x shifts with height: slant
    scale = np.diag([rng.uniform(*d.aspect), 1.0])
    affine = rotation @ shear @ scale
    amp = rng.uniform(*d.elastic) * size
    k = rng.normal(size=(2, d.waves, 2))
    k *= 2 * np.pi / (rng.uniform(*d.wavelength, size=(2, d.waves, 1)) * np.linalg.norm(k, axis=2, keepdims=True))
    phase = rng.uniform(0, 2 * np.pi, size=(2, d.waves))
    weight = rng.normal(size=(2, d.waves)) / np.sqrt(d.waves)

    def move(p: np.ndarray) -> np.ndarray:
        q = (p - centre) / size
        field = np.stack([(weight[a] * np.sin(q @ k[a].T + phase[a])).sum(1) for a in (0, 1)], axis=1)
        return (q @ affine.T) * size + amp * field

    return [move(a) for a in arrays]


def sample_strokes(
    label: int, upper: bool, font: str, rng: np.random.Generator, d: Distortion = Distortion()
) -> list[np.ndarray]:
    return distort(glyph(font, LETTERS[label].upper() if upper else LETTERS[label]), rng, d)


def generate(
    n: int, task: TaskSpec, seed: int, spread: StyleRange = StyleRange(), d: Distortion = Distortion()
) -> tuple[np.ndarray, np.ndarray]:
    """n synthetic letters as (uint8 images (n, size, size), int64 labels); classes balanced, cases mixed."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(LETTERS)
    rng.shuffle(labels)
    names, weights = list(FONTS), np.array(list(FONTS.values()))
    images = np.zeros((n, task.input.size, task.input.size), np.uint8)
    for i, label in enumerate(labels):
        font = names[rng.choice(len(names), p=weights / weights.sum())]
        strokes = sample_strokes(int(label), bool(rng.random() < 0.5), font, rng, d)
        images[i] = render_input(strokes, task, random_style(rng, spread))
    return images, labels.astype(np.int64)
