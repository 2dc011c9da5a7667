"""Streamlit-side helpers shared by the pages: getting the task's service, and the charts every page shows."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app_pages.visitor import visitor_id
from qnn_core import jobs
from qnn_core.service import CheckpointError, Classification, TaskService
from qnn_core.tasks import TASKS, TaskSpec


def service_or_stop(task_name: str, model: str = "hybrid") -> TaskService:
    """The service for the model this visitor is served (loaded once for the server and shared by everyone served
    the same checkpoint), or a message and the end of the page."""
    visitor = visitor_id()
    try:
        with st.spinner("Loading the model…"):
            service = TaskService.get(task_name, model, visitor=visitor)
    except CheckpointError as err:
        st.error(f"No trained model is available for this task. {err}")
        st.stop()
    job_id = service.serving().job_id
    if job_id is not None:
        st.info(serving_note(job_id, jobs.served(task_name, visitor=visitor).scope), icon="🏋️")
    return service


def serving_note(job_id: int, scope: str) -> str:
    """Which model this page serves, and who chose it."""
    if scope == "yours":
        return (
            f"Serving the model of training job #{job_id} to you: you chose it on the Training page (only your "
            "pages use it; *Revert to shipped* there undoes it)."
        )
    return f"Serving the model of training job #{job_id} to everyone: the teacher chose it on the Training page."


def unsure_note(task: TaskSpec, result: Classification) -> None:
    """The "I'm not sure" verdict, beside the label: "This doesn't look like a digit", and why."""
    if not result.verdict.unsure:
        return
    st.warning(
        f"**{result.verdict.headline}.** {result.verdict.reason} It may be something else, or too small or "
        "unclear: take the guess above with caution.",
        icon="🤔",
    )


def accuracy_text(accuracy: float | None) -> str:
    return "not trained yet" if accuracy is None else f"{accuracy:.2%}"


def probability_chart(labels: list[str], on: np.ndarray, off: np.ndarray | None = None) -> go.Figure:
    """Horizontal bars of the top-k probabilities; with the quantum branch off, both sets side by side."""
    fig = go.Figure(
        go.Bar(
            x=on[::-1],
            y=labels[::-1],
            orientation="h",
            name="quantum on",
            marker_color="#4C78A8",
            text=[f"{p:.1%}" for p in on[::-1]],
            textposition="auto",
        )
    )
    if off is not None:
        fig.add_bar(
            x=off[::-1],
            y=labels[::-1],
            orientation="h",
            name="quantum off",
            marker_color="#F58518",
            text=[f"{p:.1%}" for p in off[::-1]],
            textposition="auto",
        )
        fig.update_layout(barmode="group", legend=dict(orientation="h", y=-0.15))
    fig.update_layout(
        height=80 + 36 * len(labels) * (2 if off is not None else 1),
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(range=[0, 1], tickformat=".0%"),
        yaxis=dict(type="category"),
    )
    return fig


def expval_chart(expvals: np.ndarray) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=[f"q{i}" for i in range(len(expvals))],
            y=expvals,
            marker_color=["#54A24B" if v >= 0 else "#E45756" for v in expvals],
        )
    )
    fig.update_layout(height=240, margin=dict(l=10, r=10, t=10, b=10), yaxis=dict(range=[-1, 1], title="⟨Z⟩"))
    return fig


def confusion_chart(result: dict, names: list[str]) -> go.Figure:
    conf = np.array(result["confusion"])
    fig = go.Figure(
        go.Heatmap(
            z=np.log1p(conf),
            x=names,
            y=names,
            text=conf,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate="true %{y}, predicted %{x}: %{text}",
        )
    )
    fig.update_layout(
        height=460,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(title="predicted", type="category"),
        yaxis=dict(title="true", autorange="reversed", type="category"),
    )
    return fig


def all_tasks() -> list[TaskSpec]:
    return list(TASKS.values())
