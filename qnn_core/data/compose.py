"""Compose a line of handwriting from single-character data-set images, as a user would hand it in.

Used by the sequence evaluation and the tests: characters are scaled (different
sizes), spaced (uneven gaps, measured between the ink of neighbours, in units
of the line's median character height), jittered vertically, and the strip is
rendered as a PNG or JPEG file in one of three looks: light ink on dark, dark
ink on light (coloured pen, off-white paper), or strokes on a transparent canvas;
or, as a proxy of people's own pictures, re-made like a canvas, a pen on paper or
a phone photo (proxies.py).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from qnn_core.data import proxies
from qnn_core.tasks import FULL_OF_SMALL, TaskSpec

POLARITIES = ("light-on-dark", "dark-on-light", "transparent")
# Small kana are written with their full-size twin's shape, smaller and on the baseline.
SMALL_SCALE = (0.5, 0.65)  # a small kana's size against the line's


def spell(text: str, classes: tuple[str, ...] | list[str]) -> tuple[list[int], list[bool]]:
    """The class of each character of a word and whether it is written small (a small kana is its twin's class).
    Raises ValueError for a character that is neither a class nor a small kana of one."""
    labels, small = [], []
    for ch in text:
        full = ch if ch in classes else FULL_OF_SMALL.get(ch)
        if full not in classes:
            raise ValueError(f"{ch!r} is not one of the task's characters")
        labels.append(list(classes).index(full))
        small.append(full != ch)
    return labels, small


@dataclass(frozen=True)
class LineStyle:
    height: tuple[float, float] = (40, 90)  # pixels of a 28-pixel data-set cell, per line
    scale: tuple[float, float] = (0.8, 1.25)  # per character, on top of the line's size
    gap: tuple[float, float] = (0.15, 0.75)  # ink-to-ink, in median character heights
    jitter: float = 0.15  # vertical offset of each character, +- this many character heights
    margin: tuple[float, float] = (0.3, 1.0)  # around the line, in character heights
    jpeg: float = 0.25  # share of opaque images saved as JPEG (a photo) instead of PNG (a canvas)


# Lines of modern kana with small kana in them: a small kana is about half a full-size one, so the full-size
# characters may vary less than LineStyle's default +-25% (a line whose full-size kana differ by 1.5x from one
# another cannot show which is small, to any reader) and sit closer to one line.
SMALL_KANA_LINE = LineStyle(scale=(0.9, 1.1), jitter=0.06)


def line_style(task: TaskSpec) -> LineStyle:
    """How the task's composed lines are laid out: SMALL_KANA_LINE for a task whose words hold small kana."""
    return SMALL_KANA_LINE if task.small_kana else LineStyle()


@dataclass
class ComposedLine:
    image: bytes  # the file a user would upload
    ink: np.ndarray  # float (H, W), ink bright: what was drawn
    boxes: list[tuple[int, int, int, int]]  # (x, y, w, h) of each character's ink
    labels: list[int]
    polarity: str  # the look, or the proxy style


def _glyph(cell: np.ndarray, size: float) -> np.ndarray:
    """A data-set image scaled so its 28-pixel cell becomes `size` pixels, cropped to its ink."""
    n = max(8, round(size))
    big = np.asarray(Image.fromarray(cell).resize((n, n), Image.Resampling.BILINEAR), np.float32) / 255.0
    rows, cols = np.flatnonzero(big.max(1) > 0.05), np.flatnonzero(big.max(0) > 0.05)
    return big[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def compose_ink(
    cells: list[np.ndarray],
    rng: np.random.Generator,
    style: LineStyle = LineStyle(),
    gaps: list[float] | None = None,
    small: list[bool] | None = None,
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Lay uint8 (28, 28) ink-bright cells side by side; gaps (in character heights) may be given, even negative.
    `small` marks cells written as small kana: smaller, and sitting on the line's baseline."""
    size = rng.uniform(*style.height)
    small = small or [False] * len(cells)
    glyphs = [
        _glyph(c, size * (rng.uniform(*SMALL_SCALE) if s else rng.uniform(*style.scale))) for c, s in zip(cells, small)
    ]
    ref = float(np.median([g.shape[0] for g, s in zip(glyphs, small) if not s] or [g.shape[0] for g in glyphs]))
    if gaps is None:
        gaps = list(rng.uniform(*style.gap, size=len(glyphs) - 1))
    margin = [int(ref * rng.uniform(*style.margin)) for _ in range(4)]
    jitter = [int(ref * rng.uniform(-style.jitter, style.jitter)) for _ in glyphs]
    xs = [margin[0]]
    for g, gap in zip(glyphs[:-1], gaps):
        xs.append(xs[-1] + g.shape[1] + int(round(gap * ref)))
    tallest = max(g.shape[0] for g in glyphs)
    centre = margin[1] + int(ref * style.jitter) + tallest // 2
    tops = [
        (centre + int(ref / 2) - g.shape[0] if s else centre - g.shape[0] // 2) + j
        for g, j, s in zip(glyphs, jitter, small)
    ]
    width = max(x + g.shape[1] for x, g in zip(xs, glyphs)) + margin[2]
    height = max(t + g.shape[0] for t, g in zip(tops, glyphs)) + margin[3]
    ink = np.zeros((height, width), np.float32)
    boxes = []
    for g, x, t in zip(glyphs, xs, tops):
        ink[t : t + g.shape[0], x : x + g.shape[1]] = np.maximum(ink[t : t + g.shape[0], x : x + g.shape[1]], g)
        boxes.append((x, t, g.shape[1], g.shape[0]))
    return ink, boxes


def render(ink: np.ndarray, polarity: str, rng: np.random.Generator, jpeg: bool = False) -> bytes:
    """The ink drawn as an image file in the given look."""
    a = ink[..., None]
    if polarity == "transparent":
        rgba = np.zeros(ink.shape + (4,), np.uint8)
        rgba[..., :3] = rng.integers(0, 90, 3)
        rgba[..., 3] = np.round(ink * 255)
        img = Image.fromarray(rgba, "RGBA")
        jpeg = False
    elif polarity == "dark-on-light":
        paper, pen = rng.uniform(215, 255, 3), rng.uniform(0, 80, 3)
        img = Image.fromarray(np.round(paper * (1 - a) + pen * a).astype(np.uint8), "RGB")
    elif polarity == "light-on-dark":
        board, chalk = rng.uniform(0, 40, 3), rng.uniform(200, 255, 3)
        img = Image.fromarray(np.round(board * (1 - a) + chalk * a).astype(np.uint8), "RGB")
    else:
        raise ValueError(f"unknown polarity {polarity!r}; one of {POLARITIES}")
    buf = io.BytesIO()
    if jpeg:
        img.save(buf, format="JPEG", quality=int(rng.integers(80, 96)))
    else:
        img.save(buf, format="PNG")
    return buf.getvalue()


def compose_line(
    cells: list[np.ndarray],
    labels: list[int],
    rng: np.random.Generator,
    style: LineStyle = LineStyle(),
    polarity: str | None = None,
    proxy: str | None = None,
    small: list[bool] | None = None,
) -> ComposedLine:
    """A whole line from data-set cells, rendered in a random (or the given) look, or as a picture in one of
    proxies.STYLES (its boxes then describe the ink before the re-making); `small` as in compose_ink."""
    ink, boxes = compose_ink(cells, rng, style, small=small)
    if proxy is not None:
        buf = io.BytesIO()
        proxies.render(np.round(ink * 255).astype(np.uint8), proxy, rng).save(buf, format="PNG")
        return ComposedLine(buf.getvalue(), ink, boxes, list(labels), proxy)
    polarity = polarity or POLARITIES[int(rng.integers(len(POLARITIES)))]
    jpeg = polarity != "transparent" and rng.random() < style.jpeg
    return ComposedLine(render(ink, polarity, rng, jpeg), ink, boxes, list(labels), polarity)
