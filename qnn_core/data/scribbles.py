"""Drawings that are none of a task's classes: scribbles, stray strokes and near-blank canvases.

They are the made-up half of the negatives on which the "I'm not sure" verdict is calibrated
(evaluation/unsure_calibration.py); the other half are other tasks' real images. Each is drawn as pen
strokes on a canvas exactly as `strokes.render_many` draws letters (random stroke width, position, size and
polarity), then prepared like a user's drawing, so the model sees what a person's scribble would give it.
"""

from __future__ import annotations

import numpy as np

from qnn_core.data.strokes import Strokes, StyleRange, random_style, render_input
from qnn_core.preprocess.image import EmptyImageError
from qnn_core.tasks import TaskSpec

KINDS = ("scribble", "near-blank")


def _walk(rng: np.random.Generator, points: int, smooth: float) -> np.ndarray:
    """A random pen path: a walk whose heading drifts, `smooth` near 1 for long curves, near 0 for zigzags."""
    heading = rng.uniform(0, 2 * np.pi)
    turns = rng.normal(0, 1.2 * (1 - smooth) + 0.15, points)
    headings = heading + np.cumsum(turns)
    steps = np.stack([np.cos(headings), np.sin(headings)], 1) * rng.uniform(0.5, 1.5, (points, 1))
    return np.cumsum(steps, 0)


def scribble(rng: np.random.Generator) -> Strokes:
    """One of: a tangle, a zigzag, parallel bars (the "=" that reads as a z), a cross-hatch, loose strokes."""
    kind = rng.integers(5)
    if kind == 0:  # a tangle: one long curving stroke
        return [_walk(rng, int(rng.integers(40, 120)), rng.uniform(0.6, 0.9))]
    if kind == 1:  # a zigzag
        return [_walk(rng, int(rng.integers(8, 30)), rng.uniform(0.0, 0.3))]
    if kind == 2:  # two to four parallel bars, horizontal or vertical
        n, horizontal = int(rng.integers(2, 5)), rng.random() < 0.7
        bars = []
        for i in range(n):
            a, b = rng.uniform(-0.2, 0.2, 2)
            line = np.array([[0.0 + a, i], [4.0 + b, i + rng.uniform(-0.15, 0.15)]])
            bars.append(line if horizontal else line[:, ::-1])
        return bars
    if kind == 3:  # cross-hatching
        angle = rng.uniform(0, np.pi)
        out = []
        for turn in (0.0, np.pi / 2 + rng.uniform(-0.3, 0.3)):
            c, s = np.cos(angle + turn), np.sin(angle + turn)
            for i in range(int(rng.integers(2, 5))):
                offset = (i - 1.5) * 1.0
                out.append(
                    np.array([[-2 * c - offset * s, -2 * s + offset * c], [2 * c - offset * s, 2 * s + offset * c]])
                )
        return out
    # two to six short loose strokes anywhere
    return [_walk(rng, int(rng.integers(3, 10)), 0.5) + rng.uniform(-6, 6, 2) for _ in range(int(rng.integers(2, 7)))]


def near_blank(rng: np.random.Generator) -> Strokes:
    """A blob, a tick or a short dash: what a stray touch or a barely started drawing leaves (the app refuses a
    lone dot outright, so `render` keeps only what it accepts)."""
    kind = rng.integers(3)
    if kind == 0:
        return [[(0.0, 0.0)]]
    if kind == 1:
        return [_walk(rng, 2, 0.5)]
    return [_walk(rng, 3, 0.9)]


# A near-blank drawing is small on the canvas; a scribble spans what a character would.
SPREAD = {"scribble": StyleRange(), "near-blank": StyleRange(letter_size=(0.06, 0.2), max_width_ratio=1.0)}


def render(kind: str, n: int, task: TaskSpec, seed: int) -> np.ndarray:
    """n drawings of one kind, prepared for `task` as a user's drawing would be: (n, size, size) uint8."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    make = scribble if kind == "scribble" else near_blank
    out = np.zeros((n, task.input.size, task.input.size), np.uint8)
    for i in range(n):
        while True:  # what the app refuses as empty ("only a dot") never reaches the model: draw another
            try:
                out[i] = render_input(make(rng), task, random_style(rng, SPREAD[kind]))
                break
            except EmptyImageError:
                continue
    return out
