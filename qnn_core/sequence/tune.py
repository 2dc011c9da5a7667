"""Tune the segmentation scores on lines composed from the validation part of the train split.

    qnn sequence-tune --task kmnist [--n 300] [--rounds 2] [--model classical | --checkpoint PATH]

The classifier runs once per line; each trial only rescores the cached
candidates (`segment.candidates`) with other `SegmentParams`, so a coordinate
search over the scoring parameters takes seconds. The test split is never
touched here: `sequence_eval` measures on it with the parameters chosen here.
Prints the best parameters found and their validation accuracies as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from qnn_core.cli_args import add_model, model_path, positive_int
from qnn_core.data.compose import compose_line, line_style, spell
from qnn_core.data.loaders import load_split
from qnn_core.data.split import validation_split
from qnn_core.devices import DeviceError, add_device
from qnn_core.inference.predict import Predictor
from qnn_core.models.checkpoint import CheckpointError
from qnn_core.preprocess.image import ImageInputError
from qnn_core.sequence.eval import word_pool
from qnn_core.sequence.reader import LineAnalysis, analyse_line, decide
from qnn_core.sequence.segment import SegmentParams, candidates, params_for
from qnn_core.sequence.words import task_dictionary
from qnn_core.tasks import get_task

GRID = {
    "gap_threshold": [0.0, 0.05, 0.08, 0.12, 0.16, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5],
    "gap_slope": [4.0, 8.0, 12.0, 20.0, 30.0],
    "gap_cap": [2.0, 4.0, 6.0, 10.0],
    "cut_cost": [0.5, 1.0, 2.0, 4.0, 8.0],
    "wide_from": [0.9, 1.0, 1.15, 1.3, 1.5],
    "wide_cost": [2.0, 4.0, 6.0, 10.0, 20.0],
    "char_bonus": [-2.0, -1.0, 0.0, 1.0, 2.0],
    # searched together: either alone changes nothing while the other is at its default
    ("narrow_from", "narrow_cost"): [(f, c) for f in (0.3, 0.4, 0.5, 0.6, 0.7) for c in (0.0, 2.0, 5.0, 10.0, 20.0)],
}


def composed_val_lines(
    task_name: str, n: int, seed: int, checkpoint: str | Path | None, non_words: bool = False, device: str = "cpu"
) -> list[tuple[LineAnalysis, str]]:
    """Lines of 10 random characters, or dictionary words (or, with non_words, kana strings that are not words)."""
    task = get_task(task_name)
    predictor = Predictor(task, checkpoint, device)
    val = validation_split(task, load_split(task, "train"))[1]
    rng = np.random.default_rng(seed)
    by_class = [np.flatnonzero(val.labels == c) for c in range(task.num_classes)]
    dictionary = task_dictionary(task.words, task.classes) if task.words else None
    pool = word_pool(task, dictionary) if dictionary is not None else []
    style = line_style(task)
    out = []
    while len(out) < n:
        if dictionary is None:
            text = "".join(task.classes[int(c)] for c in rng.integers(0, task.num_classes, 10))
        elif non_words:
            text = "".join(task.classes[int(c)] for c in rng.integers(0, task.num_classes, int(rng.integers(2, 6))))
            if text in dictionary:
                continue
        else:
            text = pool[int(rng.integers(len(pool)))].kana
        labels, small = spell(text, task.classes)
        cells = [val.images[rng.choice(by_class[c])] for c in labels]
        line = compose_line(cells, labels, rng, style, small=small)
        out.append((analyse_line(predictor, line.image), text))
    return out


def accuracy(lines: list[tuple[LineAnalysis, str]], params: SegmentParams, expect: bool) -> dict:
    """Whole-line accuracy of the free reading (and with the expected count / the dictionary)."""
    free = guided = 0
    for analysis, truth in lines:
        a = replace(analysis, candidates=candidates(analysis.candidates.layout, params))
        try:
            r = decide(a, len(truth) if expect else None, use_dictionary=not expect)
        except ImageInputError:
            continue
        free += decide(a, None, use_dictionary=False).raw_text == truth if expect else r.raw_text == truth
        guided += r.text == truth
    return {"free": free / len(lines), "guided": guided / len(lines)}


def search(lines, start: SegmentParams, expect: bool, rounds: int) -> tuple[SegmentParams, dict]:
    best = start
    best_acc = accuracy(lines, best, expect)
    key = lambda acc: (acc["guided"] + acc["free"], acc["guided"])  # noqa: E731
    for _ in range(rounds):
        for name, values in GRID.items():
            for v in values:
                trial = replace(best, **(dict(zip(name, v)) if isinstance(name, tuple) else {name: v}))
                acc = accuracy(lines, trial, expect)
                if key(acc) > key(best_acc):
                    best, best_acc = trial, acc
    return best, best_acc


def overrule_table(words: list, non_words: list, params: SegmentParams) -> dict:
    """For each threshold on the overrule cost: word accuracy with the dictionary, and how often a non-word is forced."""

    def top(analysis):
        a = replace(analysis, candidates=candidates(analysis.candidates.layout, params))
        try:
            r = decide(a)
        except ImageInputError:
            return None
        return r.alternatives[0] if r.alternatives else None, r.raw_text

    w = [(top(a), truth) for a, truth in words]
    nw = [top(a) for a, _ in non_words]
    table = {}
    for t in (0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0):
        right = sum(
            ((m.word.kana if m is not None and m.cost <= t else raw) == truth)
            for (m, raw), truth in ((x, y) for x, y in w if x is not None)
        )
        forced = sum(x is not None and x[0] is not None and x[0].cost <= t for x in nw)
        table[t] = {
            "word_accuracy": round(right / len(words), 4),
            "non_words_forced": round(forced / len(non_words), 4),
        }
    return table


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qnn sequence-tune", description=__doc__.split("\n")[0])
    p.add_argument("--task", required=True)
    add_model(p, what="read the lines with")
    p.add_argument("--n", type=positive_int, default=300, help="validation lines to compose (default %(default)s)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--rounds", type=int, default=2, help="coordinate-search rounds; 0 only measures (default %(default)s)"
    )
    add_device(p, default="cpu")
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    torch.set_num_threads(1)
    try:
        checkpoint = model_path(get_task(a.task), a)
        lines = composed_val_lines(a.task, a.n, a.seed, checkpoint, device=a.device)
    except (KeyError, CheckpointError, FileNotFoundError, DeviceError) as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    expect = not get_task(a.task).words
    current = params_for(a.task)
    start = accuracy(lines, current, expect)
    best, acc = search(lines, current, expect, a.rounds)
    changed = {k: v for k, v in asdict(best).items() if v != getattr(current, k)}
    result = {"task": a.task, "n": a.n, "current": start, "best": acc, "changed": changed}
    if not expect:
        non_words = composed_val_lines(a.task, a.n, a.seed + 1, checkpoint, non_words=True, device=a.device)
        result["overrule"] = overrule_table(lines, non_words, best)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
