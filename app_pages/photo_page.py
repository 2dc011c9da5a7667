"""The page a photo task gets from the registry: classify a photo, explain it with Grad-CAM over the photo
itself, say "none of these?" when the model is unsure, and show the qubits. Example photos are the licensed
files in `assets/<task>/` (each with a line in its `examples.txt`: file name, tab, caption)."""

from __future__ import annotations

import streamlit as st

from app_pages.common import service_or_stop
from app_pages.task_page import classify_ui, probability_bars, quantum_view
from qnn_core.service import TaskService
from qnn_core.tasks import REPO_ROOT, TASKS, TaskSpec

PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "tif", "tiff"]


def render(task_name: str, intro: str = "") -> None:
    task = TASKS[task_name]
    st.title(task.title)
    classes = f"{', '.join(task.classes[:-1])} or {task.classes[-1]}"
    st.markdown(intro or f"Upload a photo of a **{classes}**.")
    service = service_or_stop(task.name)
    examples = example_photos(task)
    upload_tab, example_tab = st.tabs(["📁 Upload a photo", "🖼️ Examples"])
    with upload_tab:
        file = st.file_uploader(
            "A photo (JPEG, PNG, WebP or TIFF, any size)", type=PHOTO_TYPES, key=f"{task.name}_upload"
        )
        if file is not None:
            show(task, service, file.getvalue(), key=f"{task.name}_upload_result")
    with example_tab:
        if not examples:
            st.info("No example photos are bundled with this task.")
        else:
            name = st.radio("Bundled example photos", list(examples), key=f"{task.name}_example")
            show(task, service, examples[name].read_bytes(), key=f"{task.name}_example_result")


def example_photos(task: TaskSpec) -> dict:
    folder = REPO_ROOT / "assets" / task.name
    listing = folder / "examples.txt"
    if not listing.is_file():
        return {}
    rows = [line.split("\t", 1) for line in listing.read_text(encoding="utf-8").splitlines() if "\t" in line]
    return {caption.strip(): folder / name.strip() for name, caption in rows if (folder / name.strip()).is_file()}


def show(task: TaskSpec, service: TaskService, data: bytes, key: str) -> None:
    """Prediction, "none of these?" note, Grad-CAM over the photo, and the quantum view."""
    result = classify_ui(task, service, data, key)
    if result is None:
        return
    probability_bars(task, result, key)
    opacity = st.slider("Heat-map opacity", 0.0, 1.0, 0.45, 0.05, key=f"{key}_opacity")
    explanation = service.explain(result, image_weight=1.0 - opacity)
    c1, c2 = st.columns([2, 1])
    with c1:
        w, h = result.prepared.image.size
        st.image(
            explanation.overlay, caption=f"Grad-CAM for “{result.label}” over your photo ({w}×{h})", width="stretch"
        )
    with c2:
        size, native = task.input.size, task.input.native
        shrink = f", after the {native} px shrink" if task.input.photo_resize == "match" else ""
        st.image(explanation.model_input, caption=f"What the model sees ({size}×{size}{shrink})", width="stretch")
    quantum_view(task, service, result, key)
