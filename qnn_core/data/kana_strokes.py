"""Kana as pen strokes, from KanjiVG, bent the way a hand writing kana bends them.

KanjiVG (PyPI `kanjivg`, CC BY-SA 3.0, https://kanjivg.tagaini.net, by Ulrich Apel and contributors) draws
every kana as its strokes in writing order: one SVG per character (`kanji/<5-hex codepoint>.svg`), each
stroke a path of cubic Béziers on a 109 x 109 box, y downward like a canvas. The paths are read with
`svgpathtools` and sampled into points, so they go through the same canvas renderer as the Hershey letters
and the real pen strokes (`strokes.py`) and the same global distortions (`synthetic_letters.distort`).

What kana handwriting adds to those (`kana_distort`):
- each stroke placed and turned a little on its own (people do not put strokes exactly where a font does);
- hooks and tails at stroke ends (the flick of the brush-trained hand, the trailing pen of a fast one);
- strokes joined where fast writing runs the pen from one stroke's end to the next one's start.

Data derived from KanjiVG falls under its ShareAlike clause (see docs/hiragana.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import util
from pathlib import Path

import numpy as np

KANJIVG_URL = "https://kanjivg.tagaini.net"
KANJIVG_NOTICE = (
    "Stroke data: KanjiVG, copyright (C) 2009-2025 Ulrich Apel and contributors, CC BY-SA 3.0 "
    f"({KANJIVG_URL}); data derived from it is shared under the same licence."
)
SAMPLES_PER_SEGMENT = 12  # points per Bézier segment: smooth at the canvas's 280 pixels


class KanjiVGError(FileNotFoundError):
    pass


def kanjivg_dir() -> Path:
    """The `kanji/` folder the kanjivg wheel installs next to the other packages."""
    spec = util.find_spec("kanji")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        if (Path(loc) / "03042.svg").is_file():
            return Path(loc)
    raise KanjiVGError("KanjiVG's stroke files are not installed (pip install kanjivg==20260714)")


def svg_path(char: str) -> Path:
    return kanjivg_dir() / f"{ord(char):05x}.svg"


@cache
def kana_strokes(char: str) -> tuple[np.ndarray, ...]:
    """The strokes of one character in writing order, each (n, 2) points on KanjiVG's 109-unit box."""
    from svgpathtools import svg2paths  # imported here: only data making and the page's table need it

    path = svg_path(char)
    if not path.is_file():
        raise KanjiVGError(f"KanjiVG has no file for {char!r} ({path.name})")
    paths, attributes = svg2paths(str(path))
    t = np.linspace(0.0, 1.0, SAMPLES_PER_SEGMENT)
    strokes = []
    for p, attr in zip(paths, attributes):
        if "-s" not in attr.get("id", ""):  # only the stroke paths (kvg:XXXXX-sN)
            continue
        pts = np.concatenate([np.array([seg.point(x) for x in t]) for seg in p])
        strokes.append(np.stack([pts.real, pts.imag], axis=1))
    if not strokes:
        raise KanjiVGError(f"{path.name} has no strokes")
    return tuple(strokes)


@cache
def stroke_numbers(char: str) -> tuple[tuple[float, float, str], ...]:
    """KanjiVG's stroke-order labels of one character: (x, y, number) on its 109-unit box."""
    import xml.etree.ElementTree as ET

    out = []
    for el in ET.parse(svg_path(char)).iter():
        if el.tag.endswith("text") and el.text:
            parts = el.get("transform", "").replace("matrix(", "").rstrip(")").split()
            if len(parts) == 6:
                out.append((float(parts[4]), float(parts[5]), el.text.strip()))
    return tuple(out)


@dataclass(frozen=True)
class KanaDistortion:
    """The spread of the handwriting effects, in units of the character's size (109 units)."""

    stroke_shift: float = 0.035  # sd of each stroke's own offset
    stroke_turn_deg: float = 6.0  # sd of each stroke's own rotation about its centre
    stroke_scale: tuple[float, float] = (0.88, 1.12)  # each stroke's own length
    p_hook: float = 0.25  # a stroke ends in a hook (a sharp turn back) ...
    p_tail: float = 0.2  # ... or in a tail (the pen trails on)
    hook_length: tuple[float, float] = (0.03, 0.08)
    p_join: float = 0.2  # consecutive strokes joined as fast writing joins them
    join_reach: float = 0.45  # ... when the pen would travel at most this far


def _turn(v: np.ndarray, degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ v


def _end_flick(stroke: np.ndarray, rng: np.random.Generator, d: KanaDistortion, size: float) -> np.ndarray:
    """A hook (a short stroke sharply back) or a tail (a short curl onward) added at the stroke's end."""
    r = rng.random()
    if r >= d.p_hook + d.p_tail or len(stroke) < 3:
        return stroke
    heading = stroke[-1] - stroke[-3]
    norm = np.linalg.norm(heading)
    if norm == 0:
        return stroke
    heading = heading / norm
    length = rng.uniform(*d.hook_length) * size
    angle = rng.choice([-1, 1]) * (rng.uniform(110, 160) if r < d.p_hook else rng.uniform(15, 50))
    direction = _turn(heading, angle)
    steps = np.linspace(0.25, 1.0, 4)[:, None]
    return np.concatenate([stroke, stroke[-1] + steps * length * direction])


def kana_distort(
    strokes: tuple[np.ndarray, ...], rng: np.random.Generator, d: KanaDistortion = KanaDistortion()
) -> list[np.ndarray]:
    """Per-stroke jitter, hooks and tails, and joined strokes (see the module's docstring)."""
    pts = np.concatenate(strokes)
    size = float(max(np.ptp(pts, axis=0).max(), 1e-6))
    moved = []
    for s in strokes:
        centre = s.mean(0)
        a = np.deg2rad(rng.normal(0, d.stroke_turn_deg))
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * rng.uniform(*d.stroke_scale)
        s = (s - centre) @ rot.T + centre + rng.normal(0, d.stroke_shift * size, 2)
        moved.append(_end_flick(s, rng, d, size))
    joined = [moved[0]]
    for s in moved[1:]:
        reach = np.linalg.norm(s[0] - joined[-1][-1]) / size
        if reach <= d.join_reach and rng.random() < d.p_join:
            # the pen's path between them: a gentle curve, bowed a little to one side
            a, b = joined[-1][-1], s[0]
            mid = (a + b) / 2 + _turn(b - a, 90) * rng.uniform(-0.25, 0.25)
            t = np.linspace(0, 1, 6)[1:-1, None]
            bridge = (1 - t) ** 2 * a + 2 * (1 - t) * t * mid + t**2 * b
            joined[-1] = np.concatenate([joined[-1], bridge, s])
        else:
            joined.append(s)
    return joined


def stroke_order_image(char: str, size: int = 96, numbers: bool = True):
    """A reference picture of one kana: its KanjiVG strokes, dark on white, each numbered in writing order
    at KanjiVG's own label position (a PIL image, size x size)."""
    from PIL import Image, ImageDraw, ImageFont

    scale = size / 109
    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    width = max(2, round(3.5 * scale))
    for stroke in kana_strokes(char):
        draw.line([tuple(p * scale) for p in stroke], fill=(30, 30, 30), width=width, joint="curve")
    if numbers:
        font = ImageFont.load_default(size=max(8, round(11 * scale)))
        for x, y, label in stroke_numbers(char):
            draw.text((x * scale, y * scale), label, fill=(200, 40, 40), font=font, anchor="ls")
    return img
