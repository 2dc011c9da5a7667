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
that turns at most 5% of random non-word strings into a word (`sequence_tune`; per task, `max_overrule_for`).
Otherwise the raw reading is shown and the words are
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
from qnn_core.tasks import FULL_OF_SMALL

MAX_OVERRULE_NATS = 3.0
# The same rule applied to another task's validation lines (`qnn sequence-tune`'s overrule table) may choose
# another threshold: hiragana's 71-class model is surer of its characters, and at 4 nats it forces a word on
# 3.3% of its validation non-words (5 nats: 9.7%).
TUNED_OVERRULE_NATS = {"hiragana": 4.0}


def max_overrule_for(task_name: str) -> float:
    """The task's acceptance threshold, in nats (MAX_OVERRULE_NATS unless tuned for it)."""
    return TUNED_OVERRULE_NATS.get(task_name, MAX_OVERRULE_NATS)


SMALL_RERANK = 40  # best words (by the lattice) re-ranked by their small kana
# Nats added to a common word's (EDICT "(P)") ranking, never to its acceptance: of two words the ink explains
# about equally well, the common one is shown first.
COMMON_PRIOR = 1.0
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


# Small kana are not classes: a word spelt with them is read through their full-size twins (FULL_OF_SMALL), and
# the line's geometry (small_kana.py) says which of its characters were written small.


class Dictionary:
    """Words spelt in a task's classes (small kana through their full-size twins), grouped by length as
    class-index arrays for `sequence_scores`, with where each word has a small kana."""

    def __init__(self, words: tuple[Word, ...] | list[Word], classes: tuple[str, ...] | list[str]) -> None:
        index = {c: i for i, c in enumerate(classes)}
        fold = {s: f for s, f in FULL_OF_SMALL.items() if f in index and s not in index}
        self.words = [w for w in words if w.kana and all(fold.get(ch, ch) in index for ch in w.kana)]
        if not self.words:
            raise WordListError("no word of the list can be spelt with this task's classes")
        self.by_length: dict[int, tuple[np.ndarray, list[Word]]] = {}
        self.small: dict[int, np.ndarray] = {}  # (W, L) bool per length: which characters are small kana
        self.common: dict[int, np.ndarray] = {}  # (W,) 1.0 for a common word
        self._position: dict[Word, int] = {}
        self._spelling: set[str] = {w.kana for w in self.words}
        for length in sorted({len(w.kana) for w in self.words}):
            group = [w for w in self.words if len(w.kana) == length]
            self.by_length[length] = (np.array([[index[fold.get(ch, ch)] for ch in w.kana] for w in group]), group)
            self.small[length] = np.array([[ch in fold for ch in w.kana] for w in group], bool)
            self.common[length] = np.array([w.common for w in group], float)
            self._position.update((w, i) for i, w in enumerate(group))
        self.small_kana = any(m.any() for m in self.small.values())  # words with small kana to tell apart

    def labels(self, word: Word) -> np.ndarray:
        seqs, _ = self.by_length[len(word.kana)]
        return seqs[self._position[word]]

    def small_mask(self, word: Word) -> np.ndarray:
        return self.small[len(word.kana)][self._position[word]]

    def __contains__(self, text: str) -> bool:
        return text in self._spelling


@lru_cache(maxsize=4)
def task_dictionary(words: str | Path, classes: tuple[str, ...]) -> Dictionary:
    """A task's dictionary, built once per process (the EDICT list has tens of thousands of words); the EDICT
    word list is made from the Debian package on first use."""
    from qnn_core.sequence import edict

    if Path(words) == edict.CACHE_PATH:
        edict.ensure(edict.CACHE_PATH)
    return Dictionary(load_words(words), classes)


def decode(
    lat: Lattice,
    dictionary: Dictionary,
    k: int = 5,
    length: int | None = None,
    max_overrule: float = MAX_OVERRULE_NATS,
    small: np.ndarray | None = None,
) -> tuple[LatticePath, list[WordMatch]]:
    """The raw reading, and the k best words (best first; only words of `length` if given), each marked accepted or not.

    small: (K,) probability that each candidate is a small kana (small_kana.py). Words that differ only in
    small kana (きよう, きょう) score the same in the lattice; the best SMALL_RERANK words are then re-ranked
    by how well their small kana agree with the candidates their path uses."""
    raw = best_path(lat)
    if raw is None:
        raise ValueError("the lattice has no path")
    keep = max(k, SMALL_RERANK)
    # Branch and bound over word lengths: no word of n characters scores above the best n-character path
    # (any classes), so lengths are scored best bound first, and the rest skipped once `keep` words beat their
    # bound. Exact for the top `keep`, and it spares most of a large dictionary (EDICT's 125,000 readings).
    bounds = []
    for n in dictionary.by_length:
        if n > lat.n_pieces or (length is not None and n != length):
            continue
        bound = best_path(lat, count=n)
        if bound is not None:
            bounds.append((bound.score + COMMON_PRIOR, n))
    scored: list[tuple[float, float, Word]] = []  # (ranking score, lattice score, word)
    for bound, n in sorted(bounds, reverse=True):
        if len(scored) >= keep and bound < sorted(t[0] for t in scored)[-keep]:
            break
        seqs, group = dictionary.by_length[n]
        scores = sequence_scores(lat, seqs)
        ranking = scores + COMMON_PRIOR * dictionary.common[n]
        best = np.argpartition(-ranking, keep - 1)[:keep] if len(ranking) > keep else np.arange(len(ranking))
        scored += [(float(ranking[i]), float(scores[i]), group[i]) for i in best if np.isfinite(scores[i])]
    scored.sort(key=lambda t: -t[0])
    paths: dict[int, LatticePath] = {}
    if small is not None and dictionary.small_kana:
        ranked = []
        for i, (rank, _, word) in enumerate(scored[:SMALL_RERANK]):
            paths[i] = path = best_path(lat, labels=dictionary.labels(word))  # type: ignore[assignment]
            p = np.clip(small[path.candidates], 1e-3, 1 - 1e-3)
            agree = np.where(dictionary.small_mask(word), np.log(p), np.log1p(-p)).sum()
            ranked.append((rank + float(agree), i))
        order = [i for _, i in sorted(ranked, key=lambda t: (-t[0], t[1]))] + list(range(SMALL_RERANK, len(scored)))
    else:
        order = list(range(len(scored)))
    matches = []
    for i in order[:k]:
        _, score, word = scored[i]
        path = paths.get(i) or best_path(lat, labels=dictionary.labels(word))
        assert path is not None
        char_logp = [lat.logp[c, label] for c, label in zip(path.candidates, path.classes)]
        cost = max(0.0, raw.score - score)
        matches.append(WordMatch(word, score, cost, float(np.exp(np.mean(char_logp))), path, cost <= max_overrule))
    return raw, matches
