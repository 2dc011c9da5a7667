"""Cut one line of handwriting into pieces, and list the ways pieces can form characters.

A character is rarely one connected blob: a "5" often has its top bar apart, and
cursive kana such as お or は are several strokes side by side. Neighbouring
characters may also touch. So the line is first cut into *pieces* (connected
components, merged when they sit above one another, with wide blobs cut at
the thinnest columns of their vertical projection), and every run of a few
consecutive pieces is a *candidate character* with a geometric score. Which
candidates become the characters is decided later by `lattice.py`, with the
classifier's opinion added (`reader.py`), or from geometry alone
(`segment_line`). Everything is measured in units of the line height, so the
same rules hold for a 60-pixel canvas and a 3000-pixel photo.

No model here: plain numpy and scipy.ndimage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from qnn_core.preprocess.image import INK_THRESHOLD, EmptyImageError
from qnn_core.sequence.lattice import Lattice, best_path


@dataclass(frozen=True)
class SegmentParams:
    """Geometry rules, in line heights. Tuned on lines composed from the train split (validation part)."""

    dust_fraction: float = 0.02  # components smaller than this share of the largest are dust, never a character
    overlap: float = 0.4  # components overlapping by this share of the narrower one's width are one column
    split_width: float = 1.05  # blobs wider than this may hold touching characters: propose cuts
    cut_margin: float = 0.2  # no cut closer than this to a blob's edge
    cut_spacing: float = 0.2  # ... or to another cut
    max_span_pieces: int = 8  # a character is at most this many pieces (and max_char_width wide)
    max_char_width: float = 1.8  # candidates wider than this are not considered
    wide_from: float = 1.15  # candidates wider than this pay `wide_cost` per extra line height
    wide_cost: float = 6.0
    gap_threshold: float = 0.12  # a gap this wide is as likely a character boundary as not
    gap_slope: float = 12.0  # nats per line height of gap: how fast wider gaps favour a boundary
    gap_cap: float = 4.0  # a boundary never scores more than this
    cut_cost: float = 2.0  # a boundary through ink (a cut of touching characters) costs this
    narrow_from: float = 0.0  # candidates narrower than this pay `narrow_cost` per missing line height
    narrow_cost: float = 0.0  # (off by default: a "1" is narrow; kana are not)
    sliver_width: float = 0.3  # a candidate this narrow with a cut side is a sliver of a character...
    sliver_cost: float = 3.0  # ... and pays this
    char_bonus: float = 0.0  # added per character: balances the classifier's cost per character


DEFAULT_PARAMS = SegmentParams()
# Per-task scores found by `qnn sequence-tune` (validation lines only); other tasks use the defaults.
# kmnist's max_char_width is set by hand: cursive kana such as や or つ are often wider than tall, and on a
# short word the line height (from the columns' heights) is small, so at 1.8 some true characters were not
# candidates at all (4 of 14 failures on 600 validation words); `wide_cost` still makes wide readings pay.
TUNED_PARAMS: dict[str, SegmentParams] = {
    "kmnist": SegmentParams(gap_threshold=0.3, gap_slope=8.0, cut_cost=4.0, max_char_width=2.4),
}


def params_for(task_name: str) -> SegmentParams:
    return TUNED_PARAMS.get(task_name, DEFAULT_PARAMS)


@dataclass
class Piece:
    """An atom of the line: some components, limited to a column range when a blob was cut."""

    components: tuple[int, ...]
    columns: tuple[int, int]  # [x0, x1) the piece may use: a cut side stops at the cut, an uncut side is open
    box: tuple[int, int, int, int]  # (left, top, right, bottom) of its ink


@dataclass
class LineLayout:
    """The pieces of a line, left to right, and what lies between them."""

    ink: np.ndarray  # float (H, W) in [0, 1], ink bright
    owner: np.ndarray  # int (H, W): the component each pixel belongs to (faint edges included), 0 for none
    pieces: list[Piece]
    line_height: float  # typical character height in pixels
    gaps: np.ndarray  # (m-1,) pixels of background between piece k and k+1 (0 where a blob was cut)
    cut: np.ndarray  # (m-1,) True where pieces k and k+1 come from cutting one blob
    fringe: int = 2  # pixels around the strokes that `owner` gives to them

    @property
    def n_pieces(self) -> int:
        return len(self.pieces)


@dataclass
class Candidate:
    """A run of consecutive pieces [start, stop) that might be one character."""

    start: int
    stop: int
    box: tuple[int, int, int, int]  # (left, top, right, bottom)
    geo: float  # geometric log-score of being one character


@dataclass
class Candidates:
    layout: LineLayout
    items: list[Candidate]
    boundary: np.ndarray  # (m+1,) log-score of a character boundary before piece k (0 at both ends)
    params: SegmentParams = field(default=DEFAULT_PARAMS)

    def lattice(self, logp: np.ndarray | None = None) -> Lattice:
        """A lattice over these candidates; logp (K, C) adds the classifier's log-probabilities."""
        geo = np.array([c.geo + self.params.char_bonus for c in self.items])
        if logp is None:
            logp = np.zeros((len(self.items), 1))
        return Lattice([(c.start, c.stop) for c in self.items], logp, geo, self.boundary, self.layout.n_pieces)


def _components(mask: np.ndarray) -> tuple[np.ndarray, list[tuple[slice, slice]], np.ndarray]:
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    boxes = ndimage.find_objects(labels)
    areas = ndimage.sum_labels(mask, labels, np.arange(1, n + 1)) if n else np.zeros(0)
    return labels, boxes, np.asarray(areas)


def _union_find_groups(n: int, pairs: list[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _columns(xs: list[tuple[int, int]], overlap: float) -> list[list[int]]:
    """Indices grouped when their x-ranges overlap by `overlap` of the narrower range (strokes above one another)."""
    pairs = []
    for a in range(len(xs)):
        for b in range(a + 1, len(xs)):
            (a0, a1), (b0, b1) = xs[a], xs[b]
            shared = min(a1, b1) - max(a0, b0)
            if shared > 0 and shared >= overlap * min(a1 - a0, b1 - b0):
                pairs.append((a, b))
    return _union_find_groups(len(xs), pairs)


def _cut_columns(profile: np.ndarray, height: float, params: SegmentParams) -> list[int]:
    """Columns (relative to the blob) where touching characters most likely meet: local minima of the ink profile."""
    width = len(profile)
    margin, spacing = int(params.cut_margin * height), max(1, int(params.cut_spacing * height))
    if width < 2 * margin + 1:
        return []
    smooth = ndimage.uniform_filter1d(profile.astype(float), size=max(1, int(0.06 * height)) | 1)
    local_min = smooth <= ndimage.minimum_filter1d(smooth, size=spacing | 1, mode="nearest")
    xs = [x for x in range(margin, width - margin) if local_min[x]]
    chosen: list[int] = []
    for x in sorted(xs, key=lambda x: (smooth[x], x)):
        if all(abs(x - c) >= spacing for c in chosen):
            chosen.append(int(x))
    return sorted(chosen)


def layout_line(ink: np.ndarray, params: SegmentParams = DEFAULT_PARAMS) -> LineLayout:
    """Pieces of a line image's ink map (from `preprocess.ink_map`), left to right."""
    mask = ink > INK_THRESHOLD
    labels, boxes, areas = _components(mask)
    if len(areas) == 0:
        raise EmptyImageError("the image is empty: write the line first")
    big = [i for i in range(len(areas)) if areas[i] >= params.dust_fraction * areas.max()]
    xs = [(boxes[i][1].start, boxes[i][1].stop) for i in big]
    columns = [[big[k] for k in grp] for grp in _columns(xs, params.overlap)]

    def extent(comps: list[int]) -> tuple[int, int, int, int]:
        return (
            min(boxes[c][1].start for c in comps),
            min(boxes[c][0].start for c in comps),
            max(boxes[c][1].stop for c in comps),
            max(boxes[c][0].stop for c in comps),
        )

    # The line height: near the tallest columns, since a column may be only a fragment of a character
    # (one stroke of a kana) while a whole character is rarely much taller than its neighbours.
    heights = np.array([extent(c)[3] - extent(c)[1] for c in columns], float)
    line_height = max(1.0, 0.9 * float(np.percentile(heights, 90)))

    # Dust (dots, speckle) joins the column it overlaps or the nearest one within half a line height.
    spans = [extent(c) for c in columns]
    big_set = set(big)
    for d in (i for i in range(len(areas)) if i not in big_set):
        d0, d1 = boxes[d][1].start, boxes[d][1].stop
        dist = [max(0, left - d1, d0 - right) for left, _, right, _ in spans]
        k = int(np.argmin(dist))
        if dist[k] <= 0.5 * line_height:
            columns[k].append(d)

    columns.sort(key=lambda c: extent(c)[0])
    # Every pixel (faint anti-aliased edges too) belongs to the nearest component, within a few pixels.
    kept = np.zeros(len(areas) + 1, bool)
    kept[[c + 1 for col in columns for c in col]] = True
    fringe = max(2, int(0.03 * line_height))
    owner = np.where(labels > 0, labels, ndimage.maximum_filter(labels, size=2 * fringe + 1))
    owner[~kept[owner]] = 0

    pieces: list[Piece] = []
    gaps: list[float] = []
    cut: list[bool] = []
    for col in columns:
        left, top, right, bottom = extent(col)
        ranges = [(left, right)]
        if right - left > params.split_width * line_height:
            member = np.isin(labels[top:bottom, left:right], np.array(col) + 1)
            xs_cut = [left + x for x in _cut_columns(member.sum(0), line_height, params)]
            edges = [left, *xs_cut, right]
            ranges = list(zip(edges[:-1], edges[1:]))
        # An outer side that was not cut may use every column (the owner map limits it to the strokes).
        ranges[0] = (0, ranges[0][1])
        ranges[-1] = (ranges[-1][0], ink.shape[1])
        for r, (x0, x1) in enumerate(ranges):
            piece = _piece(labels, tuple(col), (x0, x1), (left, top, right, bottom))
            if piece is None:
                continue
            if pieces:
                gaps.append(float(piece.box[0] - pieces[-1].box[2]) if r == 0 else 0.0)
                cut.append(r > 0)
            pieces.append(piece)
    return LineLayout(ink, owner, pieces, line_height, np.array(gaps), np.array(cut, bool), fringe)


def _piece(
    labels: np.ndarray, comps: tuple[int, ...], columns: tuple[int, int], extent: tuple[int, int, int, int]
) -> Piece | None:
    left, top, right, bottom = extent
    x0, x1 = max(columns[0], left), min(columns[1], right)
    member = np.isin(labels[top:bottom, x0:x1], np.array(comps) + 1)
    if not member.any():
        return None
    ys, xs = np.flatnonzero(member.any(1)), np.flatnonzero(member.any(0))
    return Piece(comps, columns, (x0 + int(xs[0]), top + int(ys[0]), x0 + int(xs[-1]) + 1, top + int(ys[-1]) + 1))


def candidates(layout: LineLayout, params: SegmentParams = DEFAULT_PARAMS) -> Candidates:
    """Every run of consecutive pieces narrow enough to be one character, with its geometric score."""
    h, m = layout.line_height, layout.n_pieces
    items = []
    for i in range(m):
        for j in range(i + 1, min(m, i + params.max_span_pieces) + 1):
            boxes = [p.box for p in layout.pieces[i:j]]
            box = (
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
            )
            width = (box[2] - box[0]) / h
            if j - i > 1 and width > params.max_char_width:
                break
            geo = -params.wide_cost * max(0.0, width - params.wide_from)
            geo -= params.narrow_cost * max(0.0, params.narrow_from - width)
            cut_side = (i > 0 and layout.cut[i - 1]) or (j < m and layout.cut[j - 1])
            if cut_side and width < params.sliver_width:
                geo -= params.sliver_cost
            items.append(Candidate(i, j, box, geo))
    boundary = np.zeros(m + 1)
    if m > 1:
        gap_score = np.minimum(params.gap_slope * (layout.gaps / h - params.gap_threshold), params.gap_cap)
        boundary[1:m] = np.where(layout.cut, -params.cut_cost, gap_score)
    return Candidates(layout, items, boundary, params)


def candidate_ink(layout: LineLayout, cand: Candidate) -> np.ndarray:
    """The ink inside the candidate's box, with other characters' strokes removed (their pixels set to 0)."""
    left, top, right, bottom = cand.box
    out = np.zeros((bottom - top, right - left), layout.ink.dtype)
    for p in layout.pieces[cand.start : cand.stop]:
        x0, x1 = max(p.columns[0], left), min(p.columns[1], right)
        keep = np.isin(layout.owner[top:bottom, x0:x1], np.array(p.components) + 1)
        region = out[:, x0 - left : x1 - left]
        region[keep] = layout.ink[top:bottom, x0:x1][keep]
    return out


@dataclass
class Segmentation:
    """Where the characters are, from geometry alone."""

    boxes: list[tuple[int, int, int, int]]  # (x, y, w, h) in the image, left to right
    layout: LineLayout
    chosen: list[Candidate]


def segment_line(ink: np.ndarray, expect: int | None = None, params: SegmentParams = DEFAULT_PARAMS) -> Segmentation:
    """Character boxes from geometry only (no model): for tests, previews, and the UI's first overlay."""
    cands = candidates(layout_line(ink, params), params)
    path = best_path(cands.lattice(), count=expect)
    if path is None:
        path = best_path(cands.lattice())
    chosen = [cands.items[k] for k in path.candidates]
    return Segmentation([xywh(c.box) for c in chosen], cands.layout, chosen)


def xywh(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    left, top, right, bottom = box
    return (left, top, right - left, bottom - top)
