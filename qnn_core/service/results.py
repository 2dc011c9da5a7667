"""What the pages quote about a task's models, read from the committed evaluations and the checkpoints.

Home, Results and the task pages all read these, so the app shows the number the README and
`qnn evaluate` give: the accuracy as served (with test-time mirroring where the task uses it). They read the
committed JSON through evaluation/committed.py, never the modules that write it (which import the trainer).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from qnn_core.evaluation.committed import (
    CONTROL_GAIN,
    CONTROLS,
    MODEL_WORDS,
    device_words,
    load_curves,
    load_eval,
    plain_words,
    task_summary,
)
from qnn_core.evaluation.committed import verdict as ablation_verdict
from qnn_core.models.checkpoint import CheckpointError, read_meta
from qnn_core.models.lineage import training_totals
from qnn_core.paths import EVAL_DIR
from qnn_core.tasks import get_task


@dataclass(frozen=True)
class ModelSummary:
    """One shipped model, as Home shows it."""

    accuracy: float | None  # on the official test split, as served (None: not measured)
    test_size: int
    epochs: int  # over the model's whole chain of runs
    train_minutes: float
    # The split measured: "test", or "validation" for a data set whose test split is kept apart (clothes).
    split: str = "test"


@dataclass(frozen=True)
class TaskResults:
    """The committed results of a task's shipped models (None where not committed)."""

    hybrid: dict | None
    classical: dict | None
    errors_grid: Path | None  # misclassified test images, true -> predicted
    ablation_line: str | None  # what the multi-seed ablation says, one paragraph

    @property
    def hardest_class(self) -> tuple[str, float] | None:
        if not self.hybrid:
            return None
        return min(self.hybrid["per_class_accuracy"].items(), key=lambda kv: kv[1])


@cache
def model_summary(task_name: str, quantum: bool = True) -> ModelSummary | None:
    """A shipped model's served test accuracy and whole training, or None when it is missing or unreadable."""
    task = get_task(task_name)
    try:
        meta = read_meta(task.checkpoint(quantum))
    except CheckpointError:
        return None
    evaluation = load_eval(task, quantum)
    epochs, seconds = training_totals(meta)
    accuracy = evaluation["accuracy"] if evaluation else meta.get("test_accuracy")
    test_size = evaluation["n"] if evaluation else int(meta.get("test_size") or 0)
    split = (evaluation or {}).get("split", "test")
    return ModelSummary(accuracy, test_size, epochs, seconds / 60, split)


@cache
def task_results(task_name: str) -> TaskResults:
    task = get_task(task_name)
    grid = EVAL_DIR / f"{task.name}_hybrid_errors.png"
    return TaskResults(
        load_eval(task, True), load_eval(task, False), grid if grid.is_file() else None, _ablation_line(task_name)
    )


def _ablation_line(task_name: str) -> str | None:
    """Two sentences on what the quantum branch contributes, from the committed test-set evaluations."""
    task = get_task(task_name)
    hybrid, classical = load_eval(task, True), load_eval(task, False)
    if not hybrid:
        return None
    text = (
        f"On the {hybrid['n']:,} {hybrid.get('split', 'test')} images this hybrid model scores **{hybrid['accuracy']:.2%}**; "
        f"with its quantum branch switched off it scores {hybrid['accuracy_quantum_off']:.2%}"
    )
    if classical:
        diff = (hybrid["accuracy"] - classical["accuracy"]) * 100
        text += (
            f", and the classical-only twin trained the same way scores {classical['accuracy']:.2%} "
            f"({diff:+.2f} points for the hybrid, one seed)"
        )
    text += "."
    s = task_summary(task_name)
    if not s or "hybrid" not in s or "classical" not in s:
        return text
    h, c = s["hybrid"], s["classical"]
    multi = (
        f"**Ablation over {min(h['n'], c['n'])} seeds** (models retrained at a reduced budget: {s['budget']}): "
        f"hybrid {h['mean']:.2f} ± {h['std']:.2f}%, classical-only {c['mean']:.2f} ± {c['std']:.2f}% on the test "
        f"split; {s['verdict']}"
    )
    if "quantum_off_drop" in s:
        d = s["quantum_off_drop"]
        multi += (
            f"; switching the quantum branch off changes the hybrids' accuracy by {0.0 - d['mean']:+.2f} ± "
            f"{d['std']:.2f} points"
        )
    controls = [
        f"against the {CONTROLS[c].split(' (')[0]}, {ablation_verdict(s, f'difference_{c}', CONTROL_GAIN[c])}"
        for c in CONTROL_GAIN
        if f"difference_{c}" in s
    ]
    if controls:
        multi += ". **Fairer controls**, same budget and seeds: " + "; ".join(controls)
    return f"{text}\n\n{multi}."


@dataclass(frozen=True)
class ReadoutCurves:
    """Test accuracy against shots and noise per model (benchmarks/readout_curves.json), and why, in words."""

    shots: tuple[int, ...]
    noise: tuple[float, ...]
    lines: tuple[tuple[str, dict], ...]  # (legend name, its measured row; "device": its simulated-device column)
    explanation: str
    command: str
    device_explanation: str = ""  # the simulated real device's column in words ("" before it is measured)


@cache
def readout_curves() -> ReadoutCurves | None:
    """The committed curves, or None before `qnn curves` has been run."""
    data = load_curves()
    if not data:
        return None
    lines = tuple((f"{get_task(r['task']).title}, {MODEL_WORDS[r['model']]}", r) for r in data["results"])
    return ReadoutCurves(
        tuple(data["shots"]), tuple(data["noise"]), lines, plain_words(data), data["command"], device_words(data)
    )
