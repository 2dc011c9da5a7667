"""Dictionary decoding: read a line as the most likely word of a word list, or refuse to.

Every word is scored by the best path through the line's lattice that spells
it (`lattice.sequence_scores`): the classifier's log-probabilities of its
characters plus the geometric scores of the segmentation it needs. Because the
path may group the pieces differently from the raw reading, a character split
in two or two characters run together are forgiven when the word explains the
ink better, at the price the geometry puts on it.

When is a word trusted? The raw reading is the best path of all (any length,
best class per character), so it always scores at least as high as any word.
The difference, `cost`, is how many nats the dictionary has to overrule the
model by. A word is accepted only when `cost <= MAX_OVERRULE_NATS`, that is
when the raw reading is at most e**MAX_OVERRULE_NATS (about 20) times more
likely than the word; 3 was chosen on validation lines as the largest threshold
that turns at most 5% of random non-word strings into a word (`sequence_tune`). Otherwise the raw reading is shown and the words are
only offered as alternatives: a clearly written non-word is never forced into
the dictionary.

The word list for KMNIST (`words.tsv`) is an extract of EDICT, the property of
the Electronic Dictionary Research and Development Group, used under its licence.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qnn_core.sequence.lattice import Lattice, LatticePath, best_path, sequence_scores

MAX_OVERRULE_NATS = 3.0
EDICT_NOTICE = (
    "This app uses the EDICT dictionary file. It is the property of the Electronic Dictionary Research "
    "and Development Group and is used in conformance with the Group's licence. "
    "https://www.edrdg.org/edrdg/licence.html , https://www.edrdg.org/jmdict/edict.html"
)


@dataclass(frozen=True)
class Word:
    kana: str
    romaji: str
    english: str
    written: tuple[str, ...] = ()
    common: bool = False


@dataclass
class WordMatch:
    word: Word
    score: float  # log-score of the best path spelling the word
    cost: float  # nats by which the raw reading beats this word (>= 0)
    mean_prob: float  # geometric mean of the classifier's probabilities of the word's characters
    path: LatticePath
    accepted: bool  # cost <= the threshold: safe to show instead of the raw reading


class WordListError(ValueError):
    pass


@lru_cache(maxsize=8)
def load_words(path: str | Path) -> tuple[Word, ...]:
    """The words of a TSV with a header line and columns kana, romaji, english[, written, common]."""
    path = Path(path)
    if not path.is_file():
        raise WordListError(f"word list not found: {path}")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows or "kana" not in rows[0]:
        raise WordListError(f"{path} has no 'kana' column")
    return tuple(
        Word(
            r["kana"],
            r.get("romaji", ""),
            r.get("english", ""),
            tuple(w for w in (r.get("written") or "").split("|") if w),
            r.get("common") == "1",
        )
        for r in rows
    )


class Dictionary:
    """Words spelt in a task's classes, grouped by length as class-index arrays for `sequence_scores`."""

    def __init__(self, words: tuple[Word, ...] | list[Word], classes: tuple[str, ...] | list[str]) -> None:
        index = {c: i for i, c in enumerate(classes)}
        self.words = [w for w in words if w.kana and all(ch in index for ch in w.kana)]
        if not self.words:
            raise WordListError("no word of the list can be spelt with this task's classes")
        self.by_length: dict[int, tuple[np.ndarray, list[Word]]] = {}
        for length in sorted({len(w.kana) for w in self.words}):
            group = [w for w in self.words if len(w.kana) == length]
            self.by_length[length] = (np.array([[index[ch] for ch in w.kana] for w in group]), group)

    def labels(self, word: Word) -> np.ndarray:
        seqs, group = self.by_length[len(word.kana)]
        return seqs[group.index(word)]

    def __contains__(self, text: str) -> bool:
        return any(w.kana == text for w in self.words)


def decode(
    lat: Lattice, dictionary: Dictionary, k: int = 5, length: int | None = None, max_overrule: float = MAX_OVERRULE_NATS
) -> tuple[LatticePath, list[WordMatch]]:
    """The raw reading, and the k best words (best first; only words of `length` if given), each marked accepted or not."""
    raw = best_path(lat)
    if raw is None:
        raise ValueError("the lattice has no path")
    scored: list[tuple[float, Word]] = []
    for n, (seqs, group) in dictionary.by_length.items():
        if n > lat.n_pieces or (length is not None and n != length):
            continue
        scores = sequence_scores(lat, seqs)
        scored += [(float(s), w) for s, w in zip(scores, group) if np.isfinite(s)]
    scored.sort(key=lambda t: -t[0])
    matches = []
    for score, word in scored[:k]:
        path = best_path(lat, labels=dictionary.labels(word))
        assert path is not None
        char_logp = [lat.logp[c, label] for c, label in zip(path.candidates, path.classes)]
        cost = max(0.0, raw.score - score)
        matches.append(WordMatch(word, score, cost, float(np.exp(np.mean(char_logp))), path, cost <= max_overrule))
    return raw, matches
