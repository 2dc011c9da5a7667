"""Hiragana's speed: one drawn kana, and a 5-kana word read against EDICT, and how that scales with the
dictionary's size.

    python -m benchmarks.hiragana [--n 20] [--out benchmarks/hiragana.json]

One kana: `Predictor.predict` on a canvas drawing of あ (KanjiVG strokes), as the page calls it; the goal is
<= 20 ms.

Lines are 5-kana EDICT words composed from the hiragana test split (compose.SMALL_KANA_LINE), read by the
shipped hybrid. Timed separately, after a warm-up: the whole read (`read_line`: cut, classify every candidate,
decide), and the decision alone (`decide`: the lattice, the dictionary and the small kana) with dictionaries
of 188, 2,000, 20,000 and all words (random subsets, always holding the line's word). Memory: the dictionary's
arrays, and the peak Python allocation of one decision (tracemalloc). The goal (issue 36): <= 300 ms a word.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

from benchmarks.timing import machine_details, summary_ms, time_calls
from qnn_core.data.compose import SMALL_KANA_LINE, compose_line, spell
from qnn_core.data.kana_strokes import kana_strokes
from qnn_core.data.loaders import load_split
from qnn_core.data.strokes import CanvasStyle, render_canvas
from qnn_core.inference.predict import Predictor
from qnn_core.sequence.reader import analyse_line, decide
from qnn_core.sequence.words import Dictionary, task_dictionary
from qnn_core.tasks import get_task

SIZES = (188, 2_000, 20_000, None)  # None: the whole list


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=20, help="5-kana words to read")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    task = get_task("hiragana")
    t0 = time.perf_counter()
    full = task_dictionary(task.words, task.classes)
    build_s = time.perf_counter() - t0
    predictor = Predictor(task)
    drawing = render_canvas(kana_strokes("あ"), CanvasStyle())
    predict_s = time_calls(lambda: predictor.predict(drawing), repeats=30, warmup=3)
    test = load_split(task, "test")
    by_class = [np.flatnonzero(test.labels == c) for c in range(task.num_classes)]
    rng = np.random.default_rng(a.seed)
    five = [w for w in full.words if len(w.kana) == 5]
    words = [five[int(i)] for i in rng.choice(len(five), a.n, replace=False)]
    lines = []
    for w in words:
        labels, small = spell(w.kana, task.classes)
        cells = [test.images[rng.choice(by_class[c])] for c in labels]
        lines.append(compose_line(cells, labels, rng, SMALL_KANA_LINE, small=small).image)
    read_s, right = [], 0
    for w, image in zip(words, lines):
        analyse_line(predictor, image)  # warm-up of this line's shapes
        t = time.perf_counter()
        analysis = analyse_line(predictor, image)
        reading = decide(analysis)
        read_s.append(time.perf_counter() - t)
        right += reading.text == w.kana
    analyses = [analyse_line(predictor, image) for image in lines]
    scaling = {}
    for size in SIZES:
        decide_s, peaks = [], []
        for w, analysis in zip(words, analyses):
            if size is None:
                analysis.words = full
            else:
                others = [x for x in full.words if x != w]
                pick = [others[int(i)] for i in rng.choice(len(others), size - 1, replace=False)]
                analysis.words = Dictionary([w, *pick], task.classes)
            decide(analysis)
            t = time.perf_counter()
            decide(analysis)
            decide_s.append(time.perf_counter() - t)
            tracemalloc.start()
            decide(analysis)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        d = analysis.words
        arrays = sum(s.nbytes for s, _ in d.by_length.values()) + sum(m.nbytes for m in d.small.values())
        scaling[str(size or len(full.words))] = {
            "decide": summary_ms(decide_s),
            "decide_peak_alloc_mb": round(max(peaks) / 2**20, 2),
            "dictionary_arrays_mb": round(arrays / 2**20, 2),
        }
    result = {
        "task": "hiragana",
        "checkpoint": predictor.checkpoint.name,
        "predict_one_kana": summary_ms(predict_s),
        "predict_goal_ms": 20,
        "words_read": a.n,
        "word_length": 5,
        "read_right": right,
        "read_line_5_kana": summary_ms(read_s),
        "goal_ms": 300,
        "dictionary_words": len(full.words),
        "dictionary_build_s": round(build_s, 2),
        "decide_by_dictionary_size": scaling,
        "machine": machine_details(),
        "command": "python -m benchmarks.hiragana" + f" --n {a.n} --seed {a.seed}",
    }
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if a.out:
        a.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
