"""The page every task shares: draw / upload / example in, prediction + Grad-CAM + quantum view out."""
from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import streamlit as st
from PIL import Image

from app_pages import line_reader
from app_pages.common import UPLOAD_TYPES, ablation_line, expval_chart, predictor, probability_chart, test_examples
from qnn_core import jobs
from qnn_core.inference.explain import gradcam, model_input_image, overlay
from qnn_core.models.checkpoint import CheckpointError
from qnn_core.preprocess.image import EmptyImageError, ImageInputError, prepare
from qnn_core.tasks import TASKS, TaskSpec


def render(task_name: str, intro: str = "", extras: Callable[[TaskSpec], None] | None = None,
           draw_hint: str = "Draw one character, large, in the middle.",
           line_mode: line_reader.LineMode | None = None, single_label: str = "One character") -> None:
    """The task's page; with `line_mode`, a switch between reading one character and reading a whole line."""
    task = TASKS[task_name]
    st.title(task.title)
    if intro:
        st.markdown(intro)
    job_id = jobs.active_job_id(task_name)
    try:
        model = predictor(task_name, str(jobs.active_checkpoint(task_name)))
    except CheckpointError as err:
        st.error(f"No trained model is available for this task. {err}")
        st.stop()
    if job_id is not None:
        st.info(f"Serving the model of training job #{job_id} (chosen on the Training page, which can revert to "
                f"the shipped model).", icon="🏋️")
    if extras:
        extras(task)
    if line_mode is not None:
        choice = st.segmented_control("What to read", [single_label, line_mode.label], default=single_label,
                                      key=f"{task_name}_mode")
        if choice == line_mode.label:
            line_reader.render(task, model, line_mode)
            return
    draw_tab, upload_tab, example_tab = st.tabs(["✏️ Draw", "📁 Upload", "🎲 Examples"])
    with draw_tab:
        _draw(task, model, draw_hint)
    with upload_tab:
        _upload(task, model)
    with example_tab:
        _examples(task, model)


def _draw(task: TaskSpec, model, hint: str) -> None:
    from streamlit_drawable_canvas import st_canvas  # imports only inside a Streamlit runtime

    key = f"{task.name}_canvas"
    st.session_state.setdefault(f"{key}_n", 0)
    left, right = st.columns([1, 1.25], gap="medium")
    with left:
        width = st.slider("Stroke width", 4, 40, 18, key=f"{key}_width")
        st.caption(hint)
        result = st_canvas(stroke_width=width, stroke_color="#000000", background_color="#FFFFFF",
                           height=280, width=280, return_image_data=True,
                           key=f"{key}_{st.session_state[f'{key}_n']}")
        if st.button("🧹 Clear", key=f"{key}_clear"):
            st.session_state[f"{key}_n"] += 1
            st.rerun()
    with right:
        data = result.image_data if result is not None else None
        if data is None:
            st.info("Draw on the canvas: the prediction updates as you draw.")
            return
        show_prediction(task, model, Image.fromarray(np.asarray(data, dtype=np.uint8)), key=f"{key}_result",
                        empty_message="The canvas is empty: draw something to see a prediction.")


def _upload(task: TaskSpec, model) -> None:
    file = st.file_uploader("Upload an image (PNG, JPEG, WebP, BMP, or the first frame of a GIF)",
                            type=UPLOAD_TYPES, key=f"{task.name}_upload")
    if file is None:
        st.caption("Any size and either polarity: dark ink on light paper or light on dark.")
        return
    show_prediction(task, model, file.getvalue(), key=f"{task.name}_upload_result")


def _examples(task: TaskSpec, model) -> None:
    examples = test_examples(task.name)
    if not examples:
        st.info("The test split of this data set is not installed here, so there are no examples to try.")
        return
    source = "the test writers' real letters" if task.data.kind == "strokes" else "the official test split"
    st.caption(f"Images from {source}, which the model never trained on. Pick one:")
    cols = st.columns(len(examples))
    chosen_key = f"{task.name}_example"
    for i, (col, (img, _)) in enumerate(zip(cols, examples)):
        with col:
            st.image(Image.fromarray(img).resize((56, 56), Image.Resampling.NEAREST))
            if st.button("Try", key=f"{chosen_key}_{i}"):
                st.session_state[chosen_key] = i
    if chosen_key in st.session_state:
        img, label = examples[st.session_state[chosen_key]]
        st.caption(f"True class: **{task.label(label)}**")
        show_prediction(task, model, Image.fromarray(img), key=f"{chosen_key}_result")


def show_prediction(task: TaskSpec, model, source, key: str, empty_message: str | None = None) -> None:
    """Everything the page shows for one input; bad input becomes a message, never a traceback."""
    try:
        prepared = prepare(source, task)
    except EmptyImageError as err:
        st.info(empty_message or f"{str(err)[0].upper()}{str(err)[1:]}.")
        return
    except ImageInputError as err:
        st.error(f"This file cannot be used: {err}.")
        return
    quantum_on, pred_on, pred = predict_with_switch(task, model, prepared, key, k=min(5, task.num_classes))
    heat = bars_and_heat(task, model, prepared, pred_on, pred, quantum_on, key)
    c1, c2 = st.columns(2)
    with c1:
        st.image(overlay(prepared, heat), caption=f"Grad-CAM for “{pred.label}” on your image", width="stretch")
    with c2:
        st.image(model_input_image(prepared), caption="What the model sees (28×28)", width="stretch")
    quantum_view(task, model, prepared, pred, key)


def predict_with_switch(task: TaskSpec, model, prepared, key: str, k: int):
    """The quantum on/off switch, both predictions, and the big label: (quantum_on, prediction on, shown)."""
    quantum_on = st.toggle("Quantum branch on", value=True, key=f"{key}_quantum", disabled=not model.model_is_hybrid,
                           help="Switch the 8 qubits' contribution off to see how the prediction changes.")
    pred_on = model.predict_prepared(prepared, quantum=True, k=k)
    pred = pred_on if quantum_on else model.predict_prepared(prepared, quantum=False, k=k)
    st.markdown(f"<div class='qnn-label' style='font-size:3.2rem;font-weight:700;line-height:1.1'>{pred.label}</div>"
                f"<div style='color:#666'>{pred.top[0][1]:.1%} confident"
                f"{'' if quantum_on else ' · quantum branch off'}</div>", unsafe_allow_html=True)
    return quantum_on, pred_on, pred


def bars_and_heat(task: TaskSpec, model, prepared, pred_on, pred, quantum_on: bool, key: str) -> np.ndarray:
    """The top-k bars (both sets when the quantum branch is off), then the Grad-CAM map of the shown class."""
    k = len(pred.top)
    order = np.argsort(-pred.probs)[:k]
    chart = probability_chart([task.label(int(i)) for i in order], pred_on.probs[order],
                              None if quantum_on else pred.probs[order])
    st.plotly_chart(chart, width="stretch", key=f"{key}_bars_{_digest(prepared)}")
    model.model.quantum_enabled = quantum_on
    try:
        return gradcam(model.model, prepared, pred.index)
    finally:
        model.model.quantum_enabled = True


def quantum_view(task: TaskSpec, model, prepared, pred, key: str) -> None:
    if model.model_is_hybrid and pred.expvals is not None:
        with st.expander("⚛️ Quantum view", expanded=True):
            pair = " (the mean over it and its mirror image, which the prediction averages too)" \
                if task.test_time_mirror else ""
            st.caption(f"⟨Z⟩ of each of the 8 qubits for this input{pair}: +1 means the qubit ends in |0⟩, −1 in |1⟩.")
            st.plotly_chart(expval_chart(pred.expvals), width="stretch", key=f"{key}_z_{_digest(prepared)}")
            line = ablation_line(task.name)
            if line:
                st.markdown(line)


def _digest(prepared) -> str:
    return hashlib.sha1(prepared.pixels.tobytes()).hexdigest()[:10]
