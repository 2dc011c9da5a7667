"""A checkpoint's whole training: a fine-tuned model's metadata nests the run it started from (`init_meta`).

A card or a page that quoted only the last run would say "10 epochs, 28 min" of a model whose chain of
runs took 28 epochs and over two hours; these helpers walk the chain.
"""

from __future__ import annotations


def training_runs(meta: dict) -> list[dict]:
    """Every run that produced this checkpoint, oldest first."""
    runs, m = [], meta
    while m:
        runs.append(m)
        m = m.get("init_meta")
    return runs[::-1]


def training_totals(meta: dict) -> tuple[int, float]:
    """(epochs, seconds) summed over the whole chain of runs."""
    runs = training_runs(meta)
    return sum(int(r.get("epochs") or 0) for r in runs), sum(float(r.get("train_time_s") or 0.0) for r in runs)
