"""Read a line of handwriting: a phone number, a kana word, any row of a task's characters.

    reading = read_line(Predictor("mnist"), "strip.png", expect=10)
    reading.text, [(c.label, c.prob, c.box) for c in reading.chars]

The image goes through the same ink map as a single character (either
polarity, transparent canvases), is cut into pieces (`segment.py`), and every
candidate character is prepared exactly like a single drawing (`fit_ink` on its
own ink, then `normalise`) and classified in one batch. The segmentation and
the reading are then chosen together (`lattice.py`), constrained to `expect`
characters when the caller knows the count, and to the task's word list when
it has one (`words.py`). Each character keeps its `Prepared` input, whose
placement maps a Grad-CAM heat map back onto the user's image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from qnn_core.inference.predict import Predictor
from qnn_core.preprocess.image import (
    EmptyImageError,
    ImageInputError,
    Placement,
    Prepared,
    fit_ink,
    ink_map,
    open_image,
)
from qnn_core.preprocess.tensor import normalise
from qnn_core.sequence.lattice import Lattice, LatticePath, best_path
from qnn_core.sequence.segment import (
    Candidates,
    SegmentParams,
    candidate_ink,
    candidates,
    layout_line,
    params_for,
    xywh,
)
from qnn_core.sequence.small_kana import small_form, small_probability
from qnn_core.sequence.words import Dictionary, WordMatch, decode, max_overrule_for, task_dictionary

LOW_CONFIDENCE = 0.8  # a character read with a lower probability is flagged for the user to check
MAX_COUNT_FORCING = 6.0  # nats: how much worse a reading with the expected count may be before we refuse it
PHONE_DIGITS = 10
UNREADABLE_LOGP = -20.0  # a candidate too small to prepare (a speck): every class this unlikely


class SequenceInputError(ImageInputError):
    """The image does not hold a readable line (e.g. only one character where a sequence is expected)."""


@dataclass
class CharReading:
    label: str  # the class symbol, e.g. "5" or "す"
    index: int  # class index
    prob: float  # the classifier's probability of `label` for this segment
    probs: np.ndarray  # (num_classes,)
    top: list[tuple[str, float]]  # best classes first
    box: tuple[int, int, int, int]  # (x, y, w, h) in the user's image
    prepared: Prepared  # the model input for this character; placement maps back to the user's image
    unsure: bool = False  # the model's calibrated "I'm not sure" (inference/unsure.py): not like any class

    @property
    def low_confidence(self) -> bool:
        """A character to check: read with a low probability, or one the model is not sure is a character at all."""
        return self.prob < LOW_CONFIDENCE or self.unsure


@dataclass
class LineReading:
    task: str
    text: str  # what to show: the accepted dictionary word, else the raw reading
    chars: list[CharReading]  # the characters of `text`, left to right
    raw_text: str  # best class per segment, without the dictionary
    raw_chars: list[CharReading]
    expected: int | None = None
    count_ok: bool = True  # False when `expected` was given and the line does not hold that many characters
    notes: list[str] = field(default_factory=list)  # sentences for the user about count and confidence
    word: WordMatch | None = None  # the accepted dictionary word, if any
    alternatives: list[WordMatch] = field(default_factory=list)  # best words, accepted or not
    line_height: float = 0.0
    image_size: tuple[int, int] = (0, 0)

    @property
    def low_confidence(self) -> list[int]:
        """Positions in `chars` whose probability is under LOW_CONFIDENCE."""
        return [i for i, c in enumerate(self.chars) if c.low_confidence]


def format_phone(digits: str) -> str | None:
    """'0123456789' -> '012-345-6789'; None unless exactly ten digits."""
    if len(digits) != PHONE_DIGITS or not digits.isdigit():
        return None
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def _prepare_candidate(
    crop: np.ndarray, box: tuple[int, int, int, int], image: Image.Image, predictor: Predictor
) -> Prepared | None:
    """A candidate's ink crop, prepared like a single drawing; its placement refers to the whole image."""
    left, top = box[0], box[1]
    try:
        pixels, local = fit_ink(crop, predictor.task.input)
    except EmptyImageError:
        return None
    l, t, r, b = local.crop_box
    placement = Placement((l + left, t + top, r + left, b + top), local.scale, local.offset, image.size)
    tensor = normalise(torch.from_numpy(pixels)[None, None], predictor.task.input)
    return Prepared(tensor, pixels, placement, image)


@torch.no_grad()
def classify_candidates(
    predictor: Predictor, cands: Candidates, image: Image.Image, quantum: bool = True
) -> tuple[np.ndarray, list[Prepared | None], np.ndarray]:
    """Class probabilities (K, C) of every candidate, in one forward pass, and whether the model's calibrated
    rule is unsure of each (K,)."""
    prepared = [_prepare_candidate(candidate_ink(cands.layout, c), c.box, image, predictor) for c in cands.items]
    probs = np.full((len(prepared), predictor.task.num_classes), np.exp(UNREADABLE_LOGP))
    unsure = np.zeros(len(prepared), bool)
    ok = [i for i, p in enumerate(prepared) if p is not None]
    if ok:
        batch = torch.cat([prepared[i].tensor for i in ok]).to(predictor.device)
        features = predictor.model.backbone(batch)
        logits, _ = predictor.model.fuse(*predictor.model.branches_from_features(features), quantum=quantum)
        probs[ok] = torch.softmax(logits.double(), 1).cpu().numpy()
        if predictor.unsure_rule is not None:
            unsure[ok] = predictor.unsure_rule.is_unsure(logits.float().cpu().numpy(), features.cpu().numpy())
    return probs, prepared, unsure


def _chars(
    path: LatticePath,
    cands: Candidates,
    probs: np.ndarray,
    prepared: list[Prepared | None],
    classes: tuple[str, ...],
    unsure: np.ndarray | None = None,
) -> list[CharReading]:
    out = []
    for k, cls in zip(path.candidates, path.classes):
        p = probs[k]
        order = np.argsort(-p)[:5]
        prep = prepared[k]
        if prep is None:  # never chosen in practice: such candidates score UNREADABLE_LOGP
            raise SequenceInputError("a segment is too small to read: write the characters larger")
        out.append(
            CharReading(
                classes[cls],
                int(cls),
                float(p[cls]),
                p,
                [(classes[int(i)], float(p[i])) for i in order],
                xywh(cands.items[k].box),
                prep,
                bool(unsure is not None and unsure[k]),
            )
        )
    return out


def _choose_count(lat: Lattice, free: LatticePath, expect: int | None) -> tuple[LatticePath, bool, list[str]]:
    """The path to use, whether it has the expected count, and what to tell the user about it."""
    if expect is None or len(free.candidates) == expect:
        return free, True, []
    found = len(free.candidates)
    forced = best_path(lat, count=expect)
    if forced is not None and free.score - forced.score <= MAX_COUNT_FORCING:
        how = "split touching characters" if expect > found else "joined strokes that looked apart"
        return forced, True, [f"the line looked like {found} characters; read as {expect} as expected ({how})"]
    return (
        free,
        False,
        [
            f"found {found} characters, but {expect} were expected: leave a clear gap between "
            f"characters and write each one whole"
        ],
    )


@dataclass
class LineAnalysis:
    """Everything the model says about a line, before any decision: decide() may be called many times on it."""

    task_name: str
    classes: tuple[str, ...]
    ink: np.ndarray
    candidates: Candidates
    probs: np.ndarray  # (K, C) class probabilities of every candidate character
    prepared: list[Prepared | None]
    words: Dictionary | None
    unsure: np.ndarray | None = None  # (K,) the calibrated "I'm not sure" of every candidate
    small: np.ndarray | None = None  # (K,) probability each candidate is a small kana (tasks with small_kana)

    def lattice(self) -> Lattice:
        return self.candidates.lattice(np.log(np.maximum(self.probs, np.exp(UNREADABLE_LOGP))))


def analyse_line(
    predictor: Predictor,
    source,
    dictionary: Dictionary | bool = True,
    quantum: bool = True,
    params: SegmentParams | None = None,
) -> LineAnalysis:
    """Open the image, cut it into candidate characters and classify them all in one batch."""
    task = predictor.task
    params = params or params_for(task.name)
    image = open_image(source)
    ink = ink_map(image)
    cands = candidates(layout_line(ink, params), params)
    probs, prepared, unsure = classify_candidates(predictor, cands, image, quantum)
    if dictionary is True:
        dictionary = task_dictionary(task.words, task.classes) if task.words else False
    small = small_probability(cands) if task.small_kana else None
    return LineAnalysis(task.name, task.classes, ink, cands, probs, prepared, dictionary or None, unsure, small)


def decide(analysis: LineAnalysis, expect: int | None = None, use_dictionary: bool = True) -> LineReading:
    """Choose segmentation and text: with exactly `expect` characters if given, and a dictionary word if trusted."""
    lat = analysis.lattice()
    cands, probs, prepared, classes = analysis.candidates, analysis.probs, analysis.prepared, analysis.classes
    matches: list[WordMatch] = []
    if use_dictionary and analysis.words is not None:
        free, matches = decode(
            lat, analysis.words, length=expect, max_overrule=max_overrule_for(analysis.task_name), small=analysis.small
        )
    else:
        free = best_path(lat)
    path, count_ok, notes = _choose_count(lat, free, expect)
    if len(path.candidates) < 2:
        want = f"{expect} characters" if expect else "at least two characters"
        raise SequenceInputError(f"found only one character; write the whole line ({want}) side by side")

    raw_chars = _chars(path, cands, probs, prepared, classes, analysis.unsure)
    if analysis.small is not None:  # a kana written small is shown small (ゃ for a small や)
        for k, c in zip(path.candidates, raw_chars):
            c.label = small_form(c.label, float(analysis.small[k]))
    raw_text = "".join(c.label for c in raw_chars)
    word = next((m for m in matches[:1] if m.accepted), None)
    chars, text = raw_chars, raw_text
    if word is not None:
        chars = _chars(word.path, cands, probs, prepared, classes, analysis.unsure)
        for c, ch in zip(chars, word.word.kana):  # the word's own spelling, small kana included
            c.label = ch
        text = word.word.kana
        if text != raw_text:
            notes.append(f"read {raw_text!r}, corrected to the dictionary word {text!r}")
    elif matches:
        notes.append(f"no dictionary word fits well; showing the raw reading (closest: {matches[0].word.kana!r})")
    low = [i + 1 for i, c in enumerate(chars) if c.low_confidence]
    if low:
        doubtful = [i + 1 for i, c in enumerate(chars) if c.unsure]
        why = "read with low confidence" + (
            f"; {', '.join(map(str, doubtful))} may not be a character at all" if doubtful else ""
        )
        notes.append(f"check character{'s' if len(low) > 1 else ''} {', '.join(map(str, low))}: {why}")
    ink = analysis.ink
    return LineReading(
        analysis.task_name,
        text,
        chars,
        raw_text,
        raw_chars,
        expect,
        count_ok,
        notes,
        word,
        matches,
        cands.layout.line_height,
        (ink.shape[1], ink.shape[0]),
    )


def read_line(
    predictor: Predictor,
    source,
    expect: int | None = None,
    dictionary: Dictionary | bool = True,
    quantum: bool = True,
    params: SegmentParams | None = None,
) -> LineReading:
    """Read one line of characters from a path, bytes, file object or PIL image.

    expect: the number of characters the caller knows the line has (10 for a phone number).
    dictionary: True uses the task's word list (if it has one), False none, or a `Dictionary`.
    Raises ImageInputError (EmptyImageError, SequenceInputError) with a message for the user.
    """
    return decide(analyse_line(predictor, source, dictionary, quantum, params), expect)
