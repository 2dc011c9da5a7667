"""Small kana (ゃ ゅ ょ っ ぁ ぃ ぅ ぇ ぉ) told from their full-size twins by size and position in the line.

The classifier sees every character fitted to the same box, so a small ゃ reaches it as a や: the twins are
the same shape. What tells them apart is the line: a small kana is clearly smaller than the full-size
characters around it and sits low, on the line's baseline. This module gives each candidate character of a
line the probability that it was written small, from its box alone against the line's full-size
characters; the dictionary (words.decode) weighs the words' small kana by it, and the raw reading shows a
kana small when it is more likely small than not.

No model: plain geometry in units of the line's full-size characters.
"""

from __future__ import annotations

import numpy as np

from qnn_core.sequence.segment import Candidates
from qnn_core.tasks import FULL_OF_SMALL

SMALL_OF = {full: small for small, full in FULL_OF_SMALL.items()}
# A small kana's longest side is about 0.5-0.65 of a full-size one's; a full-size kana's at least 0.8 (a flat
# へ or つ still spans the cell's width). The boundary sits between, with a soft edge.
SIZE_SPLIT = 0.74
SIZE_SOFTNESS = 0.04
# ... and, sitting on the baseline, its centre lies low in the line's band (0 = the band's top, 1 = its bottom;
# a small kana's centre is near 0.7, a full-size one's near 0.5). Both add up, in nats.
LOW_SPLIT = 0.58
LOW_SOFTNESS = 0.05


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def line_band(cands: Candidates) -> tuple[float, float, float]:
    """(top, bottom, size) of the line's full-size characters: the median box of the pieces at least 0.8 of the
    line height (fragments and small kana left out), and their typical longest side."""
    boxes = np.array([p.box for p in cands.layout.pieces], float)
    sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    h = cands.layout.line_height
    big = boxes[sides >= 0.8 * h] if (sides >= 0.8 * h).any() else boxes
    big_sides = np.maximum(big[:, 2] - big[:, 0], big[:, 3] - big[:, 1])
    return float(np.median(big[:, 1])), float(np.median(big[:, 3])), float(np.median(big_sides))


def small_probability(cands: Candidates) -> np.ndarray:
    """(K,) probability that each candidate character is a small kana."""
    if not cands.items:
        return np.zeros(0)
    top, bottom, size = line_band(cands)
    boxes = np.array([c.box for c in cands.items], float)
    sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) / max(size, 1.0)
    centre = ((boxes[:, 1] + boxes[:, 3]) / 2 - top) / max(bottom - top, 1.0)
    return _sigmoid((SIZE_SPLIT - sides) / SIZE_SOFTNESS + (centre - LOW_SPLIT) / LOW_SOFTNESS)


def small_form(label: str, p_small: float) -> str:
    """The label as the raw reading shows it: its small twin when it was more likely written small."""
    return SMALL_OF[label] if p_small > 0.5 and label in SMALL_OF else label
