"""Streamlit-side helpers shared by the pages: cached model loading and small widgets."""
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qnn_core.checkpoint import CheckpointError, read_meta  # noqa: E402
from qnn_core.tasks import TASKS, TaskSpec  # noqa: E402


@st.cache_data(show_spinner=False)
def checkpoint_meta(task_name: str, quantum: bool) -> dict | None:
    """A shipped checkpoint's metadata, or None when it is missing or unreadable."""
    try:
        return read_meta(TASKS[task_name].checkpoint(quantum))
    except CheckpointError:
        return None


def accuracy_text(meta: dict | None) -> str:
    if meta is None:
        return "not trained yet"
    acc = meta.get("test_accuracy")
    return f"{acc:.2%}" if acc is not None else "not measured"


def all_tasks() -> list[TaskSpec]:
    return list(TASKS.values())
