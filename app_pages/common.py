"""Streamlit-side helpers shared by the pages: cached loading, and the charts every task page shows."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qnn_core.data.loaders import load_split  # noqa: E402
from qnn_core.evaluation.ablation import task_summary  # noqa: E402
from qnn_core.evaluation.report import load_eval  # noqa: E402
from qnn_core.inference.predict import Predictor  # noqa: E402
from qnn_core.models.checkpoint import CheckpointError, read_meta  # noqa: E402
from qnn_core.tasks import TASKS, TaskSpec  # noqa: E402

UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]


@st.cache_data(show_spinner=False)
def checkpoint_meta(task_name: str, quantum: bool) -> dict | None:
    """A shipped checkpoint's metadata, or None when it is missing or unreadable."""
    try:
        return read_meta(TASKS[task_name].checkpoint(quantum))
    except CheckpointError:
        return None


@st.cache_resource(show_spinner="Loading the model…")
def predictor(task_name: str, checkpoint: str | None = None) -> Predictor:
    """One loaded model per task and checkpoint for the whole server."""
    return Predictor(task_name, checkpoint)


@st.cache_data(show_spinner=False)
def evaluation(task_name: str, quantum: bool) -> dict | None:
    return load_eval(TASKS[task_name], quantum)


@st.cache_data(show_spinner=False)
def test_examples(task_name: str, per_class: int = 1, seed: int = 0) -> list[tuple[np.ndarray, int]]:
    """A few official test images (one per class by default), or [] when the data set is not installed."""
    task = TASKS[task_name]
    try:
        test = load_split(task, "test")
    except FileNotFoundError:
        return []
    rng = np.random.default_rng(seed)
    picks = []
    for c in range(task.num_classes):
        idx = rng.choice(np.flatnonzero(test.labels == c), per_class, replace=False)
        picks += [(test.images[i], c) for i in idx]
    return picks


def accuracy_text(meta: dict | None) -> str:
    if meta is None:
        return "not trained yet"
    acc = meta.get("test_accuracy")
    return f"{acc:.2%}" if acc is not None else "not measured"


def all_tasks() -> list[TaskSpec]:
    return list(TASKS.values())


def probability_chart(labels: list[str], on: np.ndarray, off: np.ndarray | None = None) -> go.Figure:
    """Horizontal bars of the top-k probabilities; with the quantum branch off, both sets side by side."""
    fig = go.Figure(go.Bar(x=on[::-1], y=labels[::-1], orientation="h", name="quantum on", marker_color="#4C78A8",
                           text=[f"{p:.1%}" for p in on[::-1]], textposition="auto"))
    if off is not None:
        fig.add_bar(x=off[::-1], y=labels[::-1], orientation="h", name="quantum off", marker_color="#F58518",
                    text=[f"{p:.1%}" for p in off[::-1]], textposition="auto")
        fig.update_layout(barmode="group", legend=dict(orientation="h", y=-0.15))
    fig.update_layout(height=80 + 36 * len(labels) * (2 if off is not None else 1), margin=dict(l=10, r=10, t=10, b=10),
                      xaxis=dict(range=[0, 1], tickformat=".0%"), yaxis=dict(type="category"))
    return fig


def expval_chart(expvals: np.ndarray) -> go.Figure:
    fig = go.Figure(go.Bar(x=[f"q{i}" for i in range(len(expvals))], y=expvals,
                           marker_color=["#54A24B" if v >= 0 else "#E45756" for v in expvals]))
    fig.update_layout(height=240, margin=dict(l=10, r=10, t=10, b=10), yaxis=dict(range=[-1, 1], title="⟨Z⟩"))
    return fig


def confusion_chart(result: dict, names: list[str]) -> go.Figure:
    conf = np.array(result["confusion"])
    fig = go.Figure(go.Heatmap(z=np.log1p(conf), x=names, y=names, text=conf, texttemplate="%{text}",
                               colorscale="Blues", showscale=False, hovertemplate="true %{y}, predicted %{x}: %{text}"))
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=10, b=10),
                      xaxis=dict(title="predicted", type="category"),
                      yaxis=dict(title="true", autorange="reversed", type="category"))
    return fig


def ablation_line(task_name: str) -> str | None:
    """One sentence on what the quantum branch contributes, from the committed test-set evaluations."""
    hybrid, classical = evaluation(task_name, True), evaluation(task_name, False)
    if not hybrid:
        return None
    text = (f"On the {hybrid['n']:,} test images this hybrid model scores **{hybrid['accuracy']:.2%}**; "
            f"with its quantum branch switched off it scores {hybrid['accuracy_quantum_off']:.2%}")
    if classical:
        diff = (hybrid["accuracy"] - classical["accuracy"]) * 100
        text += f", and the classical-only twin trained the same way scores {classical['accuracy']:.2%} ({diff:+.2f} points for the hybrid, one seed)"
    text += "."
    multi = multi_seed_line(task_name)
    return f"{text}\n\n{multi}" if multi else text


def multi_seed_line(task_name: str) -> str | None:
    """The multi-seed ablation's numbers for this task (benchmarks/ablation.json), or None if it has none."""
    s = task_summary(task_name)
    if not s or "hybrid" not in s or "classical" not in s:
        return None
    h, c = s["hybrid"], s["classical"]
    text = (f"**Ablation over {min(h['n'], c['n'])} seeds** (models retrained at a reduced budget: {s['budget']}): "
            f"hybrid {h['mean']:.2f} ± {h['std']:.2f}%, classical-only {c['mean']:.2f} ± {c['std']:.2f}% on the test "
            f"split; {s['verdict']}")
    if "quantum_off_drop" in s:
        d = s["quantum_off_drop"]
        text += f"; switching the quantum branch off changes the hybrids' accuracy by {0.0 - d['mean']:+.2f} ± {d['std']:.2f} points"
    return text + "."
