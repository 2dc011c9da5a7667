"""Measure line reading on lines composed from the official test images.

    qnn sequence-eval --task mnist|kmnist --json [--n N] [--seed S] [--out FILE] [--readme]
    qnn sequence-eval --report-only   # measure nothing: docs/reading-lines.md's table from the JSON files

--readme also rewrites the table in docs/reading-lines.md after measuring (from benchmarks/sequence_eval_*.json,
so give --out benchmarks/sequence_eval_TASK.json for the new numbers to be in it).

mnist: N lines of 10 random digits, read as phone numbers (--expect 10) and also
without the expected count. kmnist: N dictionary words (uniform over the word
list), read with and without the dictionary, plus N random kana strings that are
not words, to count how often the dictionary wrongly forces a word.

Every line is composed (`compose.py`: random sizes, gaps, vertical jitter,
three looks, some JPEG), written to image bytes and read by the same path as a
user's upload (`sequence.analyse_line`). `--split val` composes from the
validation part of the train split instead: that is what the segmentation
parameters were tuned on; the test split is only measured.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from qnn_core.cli_args import add_json, add_model, model_path, positive_int
from qnn_core.data import proxies
from qnn_core.data.compose import LineStyle, compose_line, line_style, spell
from qnn_core.data.loaders import load_split, load_train_val
from qnn_core.data.split import Split
from qnn_core.devices import DeviceError, add_device
from qnn_core.evaluation.readme import markers, page_of, replace_block
from qnn_core.inference.predict import Predictor
from qnn_core.models.checkpoint import CheckpointError
from qnn_core.preprocess.image import ImageInputError
from qnn_core.sequence.reader import LOW_CONFIDENCE, LineAnalysis, analyse_line, decide
from qnn_core.sequence.words import Dictionary, max_overrule_for, task_dictionary
from qnn_core.tasks import REPO_ROOT, TaskSpec, get_task

PHONE = 10
BENCHMARKS = REPO_ROOT / "benchmarks"
PAGE = page_of("sequence")  # docs/reading-lines.md
MARKERS = markers("sequence")
NONWORD_LENGTHS = (2, 3, 4, 5)


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    """95% confidence interval of a proportion k/n."""
    if n == 0:
        return [0.0, 1.0]
    p = k / n
    centre, half = (
        (p + z * z / (2 * n)) / (1 + z * z / n),
        z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n),
    )
    return [round(centre - half, 4), round(centre + half, 4)]


def _scores(truths: list[str], texts: list[str], polarities: list[str]) -> dict:
    n = len(truths)
    right = sum(t == r for t, r in zip(truths, texts))
    edits = sum(edit_distance(t, r) for t, r in zip(truths, texts))
    by_look = {}
    for look in sorted(set(polarities)):
        idx = [i for i, p in enumerate(polarities) if p == look]
        by_look[look] = round(sum(truths[i] == texts[i] for i in idx) / len(idx), 4)
    return {
        "sequence_accuracy": round(right / n, 4),
        "sequence_ci95": wilson(right, n),
        "char_accuracy": round(1 - edits / sum(map(len, truths)), 4),
        "count_accuracy": round(sum(len(t) == len(r) for t, r in zip(truths, texts)) / n, 4),
        "sequence_accuracy_by_look": by_look,
    }


def _pick(split: Split, rng: np.random.Generator, labels: list[int], by_class: list[np.ndarray]) -> list[np.ndarray]:
    return [split.images[rng.choice(by_class[c])] for c in labels]


def _analyse(
    predictor: Predictor,
    split: Split,
    labels: list[int],
    rng: np.random.Generator,
    by_class: list[np.ndarray],
    style: LineStyle,
    proxy: str | None = None,
    small: list[bool] | None = None,
) -> tuple[LineAnalysis, str]:
    line = compose_line(_pick(split, rng, labels, by_class), labels, rng, style, proxy=proxy, small=small)
    return analyse_line(predictor, line.image), line.polarity


def _read(analysis: LineAnalysis, expect: int | None = None, use_dictionary: bool = True) -> tuple[str, object]:
    try:
        r = decide(analysis, expect, use_dictionary)
        return r.text, r
    except ImageInputError:
        return "", None


def eval_digits(
    predictor: Predictor, split: Split, n: int, rng: np.random.Generator, style: LineStyle, proxy: bool = False
) -> dict:
    """Phone numbers; with `proxy`, every line re-made as a picture, the proxy styles taken in turn."""
    by_class = [np.flatnonzero(split.labels == c) for c in range(10)]
    truths, phone, free, looks, flagged = [], [], [], [], []
    wrong_flagged = wrong = right_flagged = right_n = 0
    for i in range(n):
        labels = [int(c) for c in rng.integers(0, 10, PHONE)]
        truth = "".join(predictor.task.classes[c] for c in labels)
        look = proxies.STYLES[i % len(proxies.STYLES)] if proxy else None
        analysis, look = _analyse(predictor, split, labels, rng, by_class, style, look)
        text, reading = _read(analysis, PHONE)
        truths.append(truth), phone.append(text), looks.append(look), free.append(_read(analysis)[0])
        flagged.append(reading is not None and not reading.count_ok)
        if reading is not None and len(text) == PHONE:
            for c, t in zip(reading.chars, truth):
                if c.label == t:
                    right_n += 1
                    right_flagged += c.low_confidence
                else:
                    wrong += 1
                    wrong_flagged += c.low_confidence
    return {
        "phone_expect_10": {**_scores(truths, phone, looks), "count_flagged": round(sum(flagged) / n, 4)},
        "no_expected_count": _scores(truths, free, looks),
        "low_confidence_flags": {
            "threshold": LOW_CONFIDENCE,
            "wrong_digits": wrong,
            "wrong_digits_flagged": wrong_flagged,
            "right_digits": right_n,
            "right_digits_flagged": right_flagged,
        },
    }


def word_pool(task: TaskSpec, words: Dictionary) -> list:
    """The words composed lines are spelled from. A large dictionary (EDICT for hiragana) is sampled over its words
    of NONWORD_LENGTHS kana, as a user would write them; their small kana are then written small (`spell`)."""
    return [w for w in words.words if len(w.kana) in NONWORD_LENGTHS] if task.small_kana else words.words


def eval_words(
    predictor: Predictor, split: Split, n: int, rng: np.random.Generator, style: LineStyle, proxy: bool = False
) -> dict:
    """Dictionary words and non-words; with `proxy`, every line re-made as a picture, styles taken in turn."""
    task = predictor.task
    words = task_dictionary(task.words, task.classes)
    pool = word_pool(task, words)
    by_class = [np.flatnonzero(split.labels == c) for c in range(task.num_classes)]
    index = {c: i for i, c in enumerate(task.classes)}
    truths, with_dict, raw, forced, looks = [], [], [], [], []
    for i in range(n):
        word = pool[int(rng.integers(len(pool)))].kana
        labels, small = spell(word, task.classes)
        look = proxies.STYLES[i % len(proxies.STYLES)] if proxy else None
        analysis, look = _analyse(predictor, split, labels, rng, by_class, style, look, small)
        text, reading = _read(analysis)
        truths.append(word), with_dict.append(text), looks.append(look)
        raw.append(reading.raw_text if reading is not None else "")
        forced.append(reading.alternatives[0].word.kana if reading is not None and reading.alternatives else "")
    # Strings that are not words: the dictionary must not turn them into one.
    non_truth, non_text, non_looks, non_forced = [], [], [], 0
    while len(non_truth) < n:
        length = int(rng.choice(NONWORD_LENGTHS))
        text = "".join(task.classes[int(c)] for c in rng.integers(0, task.num_classes, length))
        if text in words:
            continue
        look = proxies.STYLES[len(non_truth) % len(proxies.STYLES)] if proxy else None
        analysis, look = _analyse(predictor, split, [index[ch] for ch in text], rng, by_class, style, look)
        read, reading = _read(analysis)
        non_truth.append(text), non_text.append(read), non_looks.append(look)
        non_forced += reading is not None and reading.word is not None
    return {
        "words_with_dictionary": _scores(truths, with_dict, looks),
        "words_without_dictionary": _scores(truths, raw, looks),
        "words_best_word_always": _scores(truths, forced, looks),
        "non_words": {**_scores(non_truth, non_text, non_looks), "dictionary_word_forced": round(non_forced / n, 4)},
        "dictionary": {
            "words": len(words.words),
            "words_sampled": len(pool),
            "max_overrule_nats": max_overrule_for(task.name),
            **({"source": "EDICT (Debian package edict), all-hiragana readings"} if task.small_kana else {}),
        },
    }


def run(
    task: TaskSpec,
    n: int,
    seed: int,
    split_name: str = "test",
    checkpoint: str | Path | None = None,
    device: str = "cpu",
    proxy: bool = False,
) -> dict:
    torch.set_num_threads(1)
    predictor = Predictor(task, checkpoint, device)
    if split_name == "val":
        split = load_train_val(task)[1]
    else:
        split = load_split(task, "test")
    rng = np.random.default_rng(seed)
    style = line_style(task)
    start = time.time()
    if task.words:
        result = eval_words(predictor, split, n, rng, style, proxy)
    else:
        result = eval_digits(predictor, split, n, rng, style, proxy)
    return {
        "task": task.name,
        "split": split_name,
        "n_lines": n,
        "seed": seed,
        "proxy": proxy,
        "checkpoint": predictor.checkpoint.name,
        "checkpoint_test_accuracy": predictor.meta.get("test_accuracy"),
        "composition": asdict(style),
        **result,
        "seconds": round(time.time() - start, 1),
    }


def readme_table(results: list[dict]) -> str:
    """docs/reading-lines.md's table, every number straight from the committed JSON files."""

    def pct(block: dict) -> str:
        lo, hi = block["sequence_ci95"]
        return f"{block['sequence_accuracy']:.1%} ({lo:.1%}–{hi:.1%}) | {block['char_accuracy']:.2%}"

    rows = ["| lines (official test images) | reading | whole line (95% CI) | characters |", "|---|---|---|---|"]
    for r in results:
        n, ck = r["n_lines"], r["checkpoint"]
        pictures = ", re-made as people's pictures (canvas, pen, phone photo)" if r.get("proxy") else ""
        if r["task"] == "mnist":
            rows.append(
                f"| {n} × 10 random digits{pictures}, `{ck}` | `--phone` (exactly 10) | {pct(r['phone_expect_10'])} |"
            )
            rows.append(f"| same lines | no expected count | {pct(r['no_expected_count'])} |")
        else:
            rows.append(
                f"| {n} dictionary words{pictures}, `{ck}` | with the dictionary | {pct(r['words_with_dictionary'])} |"
            )
            rows.append(f"| same lines | without the dictionary | {pct(r['words_without_dictionary'])} |")
            nw = r["non_words"]
            rows.append(f"| {n} random kana strings that are not words | with the dictionary | {pct(nw)} |")
    notes = []
    for r in results:
        if r.get("proxy"):
            continue
        if r["task"] == "mnist":
            f = r["low_confidence_flags"]
            notes.append(
                f"Digits: {f['wrong_digits_flagged']} of {f['wrong_digits']} misread digits were flagged "
                f"`low_confidence` (probability < {f['threshold']}), and {f['right_digits_flagged']} of "
                f"{f['right_digits']} right ones."
            )
        else:
            notes.append(
                f"Kana: on the non-words the dictionary replaced the reading by a word in "
                f"{r['non_words']['dictionary_word_forced']:.1%} of lines (threshold "
                f"{r['dictionary']['max_overrule_nats']} nats)."
            )
    cmds = " and ".join(
        f"`qnn sequence-eval --task {r['task']}{' --proxy' * bool(r.get('proxy'))} "
        f"--json --n {r['n_lines']} --seed {r['seed']} --out benchmarks/"
        f"sequence_eval_{r['task']}{'_proxy' * bool(r.get('proxy'))}.json`"
        for r in results
    )
    return (
        "\n".join(rows) + "\n\n" + " ".join(notes) + f"\n\nProduced by {cmds}; the table by "
        "`qnn sequence-eval --report-only`."
    )


def write_readme() -> None:
    results = [json.loads(p.read_text()) for p in sorted(BENCHMARKS.glob("sequence_eval_*.json"))]
    if not replace_block("sequence", readme_table(results), PAGE):
        raise SystemExit(f"{PAGE} has no {MARKERS[0]} markers")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qnn sequence-eval", description=__doc__.split("\n")[0])
    p.add_argument("--task")
    add_model(p, what="read the lines with")
    p.add_argument("--n", type=positive_int, default=500, help="lines to compose (and as many non-words for kmnist)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=["test", "val"], default="test", help="val: for tuning only")
    p.add_argument(
        "--proxy",
        action="store_true",
        help="re-make every line as people's pictures (a canvas, a pen on paper, a phone photo; "
        "data/proxies.py), the styles in turn",
    )
    add_json(p, "the full result, one object,")
    p.add_argument("--out", type=Path, help="also write the JSON here")
    p.add_argument(
        "--readme",
        action="store_true",
        help="also rewrite docs/reading-lines.md's table from benchmarks/sequence_eval_*.json after measuring",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing; rewrite docs/reading-lines.md's table from benchmarks/sequence_eval_*.json",
    )
    add_device(p, default="cpu")
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    a = p.parse_args(argv)
    if a.readme and not a.task and not a.report_only:
        p.error("--readme rewrites the table after measuring a --task; to rewrite it alone use --report-only")
    if a.report_only:
        write_readme()
        return 0
    if not a.task:
        p.error("--task is required (or --report-only)")
    try:
        task = get_task(a.task)
        result = run(task, a.n, a.seed, a.split, model_path(task, a), a.device, a.proxy)
    except (KeyError, CheckpointError, FileNotFoundError, DeviceError) as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text + "\n")
    if a.json:
        print(text)
    else:
        for key, value in result.items():
            if isinstance(value, dict) and "sequence_accuracy" in value:
                print(f"{key}: sequence {value['sequence_accuracy']:.2%}, characters {value['char_accuracy']:.2%}")
    if a.readme:
        if not (a.out and a.out.resolve().parent == BENCHMARKS.resolve() and a.out.name.startswith("sequence_eval_")):
            print(
                "note: without --out benchmarks/sequence_eval_TASK.json this result is not in docs/reading-lines.md",
                file=sys.stderr,
            )
        write_readme()
    return 0


if __name__ == "__main__":
    sys.exit(main())
