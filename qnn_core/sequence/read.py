"""Read a line of handwriting (a phone number, a kana word) from image files.

    qnn read --task mnist|kmnist|hiragana FILE [FILE ...] [--expect N] [--model classical | --checkpoint PATH]
                            [--quantum off] [--no-dictionary] [--top K]
    qnn read --phone FILE          # digits, exactly 10, formatted 012-345-6789

One JSON object per file:
    {"file", "text", "raw_text", "count", "expected", "count_ok", "notes",
     "chars": [{"label", "prob", "box": [x, y, w, h], "top": [[label, prob], ...], "low_confidence", "unsure"}, ...],
     "low_confidence": [positions, 0-based], "unsure", "unsure_reason"}
where a character is `low_confidence` when read with a low probability or when the model is unsure it is a
character at all ("unsure": its calibrated verdict), and the line's "unsure_reason" names such characters;
plus "phone" (formatted, or null when the count is off) with --phone, and for a task with a word list
(kmnist, hiragana) "word": {"kana", "romaji", "english", "score", "cost"} or null, and "alternatives".
Notes about the count also go to stderr as warnings. A bad file gets a one-line error on stderr and a
non-zero exit status.
"""

from __future__ import annotations

import argparse
import json
import sys

from qnn_core.cli_args import add_model, add_quantum_switch, positive_int
from qnn_core.devices import add_device
from qnn_core.inference.predict import Predictor, run_over_files
from qnn_core.preprocess.image import ImageInputError
from qnn_core.sequence.reader import PHONE_DIGITS, LineReading, format_phone, read_line
from qnn_core.sequence.words import WordListError, WordMatch
from qnn_core.tasks import get_task


def _word(m: WordMatch) -> dict:
    return {
        "kana": m.word.kana,
        "romaji": m.word.romaji,
        "english": m.word.english,
        "score": round(m.mean_prob, 4),
        "cost": round(m.cost, 3),
        "accepted": m.accepted,
    }


def unsure_fields(reading: LineReading) -> dict:
    """The line's "I'm not sure": whether any character is unlike every class, and which, in a sentence."""
    doubtful = [i + 1 for i, c in enumerate(reading.chars) if c.unsure]
    if not doubtful:
        return {"unsure": False, "unsure_reason": ""}
    which = f"character{'s' if len(doubtful) > 1 else ''} {', '.join(map(str, doubtful))}"
    verb = "don't" if len(doubtful) > 1 else "doesn't"
    return {"unsure": True, "unsure_reason": f"{which} of the line {verb} look like {get_task(reading.task).noun}"}


def to_json(reading: LineReading, phone: bool = False, top: int = 3) -> dict:
    """The CLI's JSON object for one reading (also handy for the app's downloads)."""
    out = {
        "text": reading.text,
        "raw_text": reading.raw_text,
        "count": len(reading.chars),
        "expected": reading.expected,
        "count_ok": reading.count_ok,
        "notes": reading.notes,
        "chars": [
            {
                "label": c.label,
                "prob": round(c.prob, 4),
                "box": list(c.box),
                "top": [[label, round(p, 4)] for label, p in c.top[:top]],
                "low_confidence": c.low_confidence,
                "unsure": c.unsure,
            }
            for c in reading.chars
        ],
        "low_confidence": reading.low_confidence,
        **unsure_fields(reading),
    }
    if phone:
        out["phone"] = format_phone(reading.text) if reading.count_ok else None
    if reading.alternatives or reading.word:
        out["word"] = _word(reading.word) if reading.word else None
        out["alternatives"] = [_word(m) for m in reading.alternatives]
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qnn read", description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--task", help="mnist, kmnist, hiragana or any registered task (default with --phone: mnist)")
    p.add_argument("--expect", type=int, help="the number of characters on the line")
    p.add_argument(
        "--phone",
        action="store_true",
        help=f"a {PHONE_DIGITS}-digit phone number: --expect {PHONE_DIGITS} and the formatted number in 'phone'",
    )
    add_model(p)
    add_quantum_switch(p)
    p.add_argument("--no-dictionary", action="store_true", help="do not decode against the task's word list")
    p.add_argument(
        "--top", type=positive_int, default=3, help="how many labels to list per character (default %(default)s)"
    )
    add_device(p)
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    a = p.parse_args(argv)
    if a.phone:
        if a.task not in (None, "mnist"):
            p.error("--phone reads digits: use it with --task mnist or without --task")
        a.task, a.expect = "mnist", a.expect or PHONE_DIGITS
    if a.task is None:
        p.error("--task is required (or use --phone)")
    if a.expect is not None and a.expect < 2:
        p.error("--expect: a line has at least 2 characters (for one, use qnn predict)")

    def handle(predictor: Predictor, f: str) -> None:
        reading = read_line(predictor, f, expect=a.expect, dictionary=not a.no_dictionary, quantum=a.quantum == "on")
        if not reading.count_ok:
            for note in reading.notes[:1]:
                print(f"warning: {f}: {note}", file=sys.stderr)
        print(json.dumps({"file": f, **to_json(reading, a.phone, a.top)}, ensure_ascii=False), flush=True)

    return run_over_files(a, handle, errors=(ImageInputError, WordListError))


if __name__ == "__main__":
    sys.exit(main())
