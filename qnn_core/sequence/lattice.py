"""Best ways to read a line: dynamic programming over candidate characters.

A line is m pieces. A *candidate* covers pieces [start, stop) and has, for each
class, a log-score: the classifier's log-probability plus a geometric
log-score. A *path* covers all pieces with non-overlapping candidates, left to
right; its score adds the candidates' scores and the boundary scores between
them. The same search gives the free reading (best class per character), a
reading with exactly N characters (a phone number), and the score of a given
label sequence (a dictionary word), so segmentation and recognition are
decided together instead of one after the other.

Pure numpy, no model: tests can build lattices by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEG = -np.inf


@dataclass
class Lattice:
    spans: list[tuple[int, int]]  # candidate k covers pieces [start, stop)
    logp: np.ndarray  # (K, C) log-score of candidate k being class c (classifier)
    geo: np.ndarray  # (K,) log-score of candidate k being one character at all (geometry)
    boundary: np.ndarray  # (m+1,) log-score of a character boundary just before piece i
    n_pieces: int

    def __post_init__(self) -> None:
        self.logp = np.asarray(self.logp, float)
        self.geo = np.asarray(self.geo, float)
        self.boundary = np.asarray(self.boundary, float)
        if self.logp.shape[0] != len(self.spans) or self.geo.shape != (len(self.spans),):
            raise ValueError("logp and geo need one row per span")
        if self.boundary.shape != (self.n_pieces + 1,):
            raise ValueError("boundary needs n_pieces + 1 entries")

    def order(self) -> np.ndarray:
        """Candidates sorted by where they stop, so a DP sees every way into a piece before leaving it."""
        return np.argsort([stop for _, stop in self.spans], kind="stable")


@dataclass
class LatticePath:
    """One reading of the line: non-overlapping candidates covering every piece, and their classes."""

    score: float
    candidates: list[int]  # indices into Lattice.spans, left to right
    classes: list[int]  # class index of each character


def best_path(
    lat: Lattice, count: int | None = None, labels: list[int] | np.ndarray | None = None
) -> LatticePath | None:
    """The best-scoring path; with `count` exactly that many characters; with `labels` exactly those classes.

    Returns None when no path fits (e.g. fewer pieces than `count`).
    """
    if labels is not None:
        labels = np.asarray(labels, int)
        count = len(labels)
    m = lat.n_pieces
    n_max = count if count is not None else m
    score = np.full((n_max + 1, m + 1), NEG)
    back = np.full((n_max + 1, m + 1), -1, int)
    score[0, 0] = 0.0
    for k in lat.order():
        start, stop = lat.spans[k]
        prev = score[:n_max, start] + lat.boundary[start] + lat.geo[k]
        gain = lat.logp[k, labels] if labels is not None else np.full(n_max, lat.logp[k].max())
        new = prev + gain
        better = new > score[1:, stop]
        score[1:, stop] = np.where(better, new, score[1:, stop])
        back[1:, stop] = np.where(better, k, back[1:, stop])
    n = count if count is not None else int(np.argmax(score[:, m]))
    if not np.isfinite(score[n, m]):
        return None
    cands: list[int] = []
    pos = m
    while n > 0:
        k = int(back[n, pos])
        cands.append(k)
        pos, n = lat.spans[k][0], n - 1
    cands.reverse()
    if labels is not None:
        classes = [int(c) for c in labels]
    else:
        classes = [int(np.argmax(lat.logp[k])) for k in cands]
    return LatticePath(float(score[count if count is not None else len(cands), m]), cands, classes)


def sequence_scores(lat: Lattice, sequences: np.ndarray) -> np.ndarray:
    """Best path score of each label sequence (W, L) of one length L: all dictionary words at once."""
    sequences = np.asarray(sequences, int)
    n_words, length = sequences.shape
    m = lat.n_pieces
    score = np.full((n_words, length + 1, m + 1), NEG)
    score[:, 0, 0] = 0.0
    for k in lat.order():
        start, stop = lat.spans[k]
        new = score[:, :length, start] + lat.boundary[start] + lat.geo[k] + lat.logp[k][sequences]
        score[:, 1:, stop] = np.maximum(score[:, 1:, stop], new)
    return score[:, length, m]
