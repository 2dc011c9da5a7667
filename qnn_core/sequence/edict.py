"""The hiragana word list: every EDICT entry whose reading is all hiragana, built from the Debian `edict` package.

Built on first use (or by setup) from /usr/share/edict/edict (EUC-JP) and cached as a TSV in the format
`words.load_words` reads (kana, romaji, english, written, common); never edited by hand and never committed
whole. Entries sharing a reading are merged: the word is common when any of them is (EDICT's "(P)"), its
English is the first three senses of the first common entry (else the first entry), and its written forms
are the entries' headwords.

EDICT is the property of the Electronic Dictionary Research and Development Group and is used in
conformance with the Group's licence (words.EDICT_NOTICE is shown wherever the words are).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from qnn_core.fileio import atomic_write
from qnn_core.paths import CACHE_ROOT
from qnn_core.tasks import FULL_OF_SMALL

EDICT_FILE = Path("/usr/share/edict/edict")
FORMAT = 1  # bump when the columns or the rules below change; the cache file name carries it
CACHE_PATH = CACHE_ROOT / "edict" / f"hiragana-words-v{FORMAT}.tsv"
MIN_LENGTH, MAX_LENGTH = 2, 12  # one-kana words are particles and interjections; longer ones are phrases
HIRAGANA = set(chr(c) for c in range(0x3041, 0x3097))

_ROMAJI = dict(
    zip(
        "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
        "がぎぐげござじずぜぞだぢづでどばびぶべぼぱぴぷぺぽゐゑゔ",
        "a i u e o ka ki ku ke ko sa shi su se so ta chi tsu te to na ni nu ne no ha hi fu he ho "
        "ma mi mu me mo ya yu yo ra ri ru re ro wa wo n "
        "ga gi gu ge go za ji zu ze zo da di du de do ba bi bu be bo pa pi pu pe po wi we vu".split(),
    )
)
_TAG = re.compile(r"\((?:[^()]*)\)|\{[^{}]*\}")


class EdictError(FileNotFoundError):
    pass


def romaji(kana: str) -> str:
    """Hepburn as the task's classes spell it (を wo, ぢ di, づ du): きょう kyou, がっこう gakkou."""
    out: list[str] = []
    double = False
    for ch in kana:
        if ch == "っ":
            double = True
            continue
        if ch in "ゃゅょ" and out and out[-1].endswith("i") and len(out[-1]) > 1:
            base = out[-1][:-1]
            vowel = {"ゃ": "a", "ゅ": "u", "ょ": "o"}[ch]
            out[-1] = base + vowel if base in ("sh", "ch", "j") else base + "y" + vowel
            continue
        syl = _ROMAJI.get(ch) or _ROMAJI.get(FULL_OF_SMALL.get(ch, ""), "")
        if ch in "ぁぃぅぇぉ":
            syl = FULL_OF_SMALL[ch] and _ROMAJI[FULL_OF_SMALL[ch]]
        if double and syl:
            syl = ("t" if syl.startswith("ch") else syl[0]) + syl
        double = False
        out.append(syl)
    return "".join(out) + ("t" if double else "")


def _senses(glosses: list[str]) -> str:
    senses = [_TAG.sub("", g).strip() for g in glosses]
    senses = [s for s in senses if s and not s.startswith("EntL")]
    return "; ".join(senses[:3])[:100]


def parse(lines) -> list[dict]:
    """Rows of the word list from EDICT's lines (already decoded): one per all-hiragana reading."""
    words: dict[str, dict] = {}
    for line in lines:
        head, _, rest = line.partition(" /")
        if not rest:
            continue
        found = re.fullmatch(r"(\S+)(?: \[(\S+)\])?", head.strip())
        if not found:
            continue
        written, readings = found.group(1), found.group(2)
        glosses = rest.rstrip("/\n").split("/")
        common = "(P)" in glosses
        english = _senses(glosses)
        for reading in (readings or written).split(";"):
            kana = reading.replace("(P)", "")
            kana = re.sub(r"\(.*?\)", "", kana)
            if not (MIN_LENGTH <= len(kana) <= MAX_LENGTH) or not set(kana) <= HIRAGANA:
                continue
            row = words.setdefault(kana, {"kana": kana, "english": "", "written": [], "common": False})
            if english and (not row["english"] or (common and not row["common"])):
                row["english"] = english
            if readings and written not in row["written"] and len(row["written"]) < 4:
                row["written"].extend(w for w in written.split(";")[:1] if w not in row["written"])
            row["common"] = row["common"] or common
    rows = sorted(words.values(), key=lambda r: (not r["common"], len(r["kana"]), r["kana"]))
    return [{**r, "romaji": romaji(r["kana"])} for r in rows]


def to_tsv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(["kana", "romaji", "english", "written", "common"])
    for r in rows:
        w.writerow([r["kana"], r["romaji"], r["english"], "|".join(r["written"]), int(r["common"])])
    return buf.getvalue()


def build(path: Path = CACHE_PATH, source: Path = EDICT_FILE) -> Path:
    """Write the word list (atomically) from the EDICT file; returns its path."""
    if not source.is_file():
        raise EdictError(f"{source} not found: install the Debian package edict (apt-get install edict)")
    with open(source, encoding="euc_jp", errors="replace") as f:
        rows = parse(f)
    text = to_tsv(rows)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return path


def ensure(path: Path = CACHE_PATH) -> Path:
    """The cached word list, built first if it is not there yet."""
    return path if path.is_file() else build(path)
