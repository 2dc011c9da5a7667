"""The page every handwriting task shares: draw / upload / example in, prediction + Grad-CAM + quantum view out.

Widgets in, one service call, charts out: every number comes from `TaskService`, and nothing here changes a model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import streamlit as st
from PIL import Image

from app_pages import line_reader
from app_pages import quantum_view as quantum_view_section
from app_pages.common import probability_chart, service_or_stop, unsure_note
from qnn_core.service import UPLOAD_EXTENSIONS, Classification, EmptyImageError, ImageInputError, TaskService
from qnn_core.tasks import TASKS, TaskSpec


def render(
    task_name: str,
    intro: str = "",
    extras: Callable[[TaskSpec], None] | None = None,
    draw_hint: str = "Draw one character, large, in the middle.",
    line_mode: line_reader.LineMode | None = None,
    single_label: str = "One character",
    upload_note: str = "",
) -> None:
    """The task's page; with `line_mode`, a switch between reading one character and reading a whole line."""
    task = TASKS[task_name]
    st.title(task.title)
    if intro:
        st.markdown(intro)
    service = service_or_stop(task_name, model_ui(task_name))
    if extras:
        extras(task)
    if line_mode is not None:
        choice = st.segmented_control(
            "What to read", [single_label, line_mode.label], default=single_label, key=f"{task_name}_mode"
        )
        if choice == line_mode.label:
            line_reader.render(task, service, line_mode)
            return
    draw_tab, upload_tab, example_tab = st.tabs(["✏️ Draw", "📁 Upload", "🎲 Examples"])
    with draw_tab:
        _draw(task, service, draw_hint)
    with upload_tab:
        if upload_note:  # what an upload is read as, where people would expect more (Fashion: real photos)
            st.info(upload_note, icon="ℹ️")
        _upload(task, service)
    with example_tab:
        _examples(task, service)


MODEL_LABELS = {"hybrid": "hybrid (classical + quantum)", "bottleneck": "quantum bottleneck"}


def model_ui(task_name: str) -> str:
    """Which of the task's models serves this page: the hybrid, or the one whose decision passes through the qubits."""
    offered = TaskService.offered_models(task_name)
    if len(offered) == 1:
        return offered[0]
    choice = st.segmented_control(
        "Model",
        [MODEL_LABELS[m] for m in offered],
        default=MODEL_LABELS["hybrid"],
        key=f"{task_name}_model",
        help="The quantum bottleneck's head reads only the 8 qubits' ⟨Z⟩: switch the "
        "quantum branch off and watch the prediction break.",
    )
    return next((m for m, label in MODEL_LABELS.items() if label == choice), "hybrid")


@st.fragment
def _draw(task: TaskSpec, service: TaskService, hint: str) -> None:
    """The canvas and its prediction, as a fragment: a stroke reruns only this, not the whole page (its title, the
    model lookup, the upload and example tabs), which keeps many sessions drawing at once quick."""
    from streamlit_drawable_canvas import st_canvas  # imports only inside a Streamlit runtime

    key = f"{task.name}_canvas"
    st.session_state.setdefault(f"{key}_n", 0)
    left, right = st.columns([1, 1.25], gap="medium")
    with left:
        width = st.slider("Stroke width", 4, 40, 18, key=f"{key}_width")
        # the canvas draws its own toolbar over the line above it: the hint gets a line of its own and a gap
        st.caption(hint)
        st.markdown("<div style='height:2.2rem'></div>", unsafe_allow_html=True)
        result = st_canvas(
            stroke_width=width,
            stroke_color="#000000",
            background_color="#FFFFFF",
            height=280,
            width=280,
            return_image_data=True,
            key=f"{key}_{st.session_state[f'{key}_n']}",
        )
        if st.button("🧹 Clear", key=f"{key}_clear"):
            st.session_state[f"{key}_n"] += 1
            st.rerun(scope="fragment")
    with right:
        data = result.image_data if result is not None else None
        if data is None:
            st.info("Draw on the canvas: the prediction updates as you draw.")
            return
        show_prediction(
            task,
            service,
            Image.fromarray(np.asarray(data, dtype=np.uint8)),
            key=f"{key}_result",
            empty_message="The canvas is empty: draw something to see a prediction.",
        )


def _upload(task: TaskSpec, service: TaskService) -> None:
    file = st.file_uploader(
        "Upload an image (PNG, JPEG, WebP, BMP, TIFF, or the first frame of a GIF)",
        type=list(UPLOAD_EXTENSIONS),
        key=f"{task.name}_upload",
    )
    if file is None:
        st.caption("Any size and either polarity: dark ink on light paper or light on dark.")
        return
    show_prediction(task, service, file.getvalue(), key=f"{task.name}_upload_result")


def _examples(task: TaskSpec, service: TaskService) -> None:
    examples = service.examples()
    if not examples:
        st.info("The test split of this data set is not installed here, so there are no examples to try.")
        return
    source = {
        "strokes": "the test writers' real letters",
        "kanjivg": "the synthetic test images (KanjiVG strokes by a simulated hand, and a held-out font)",
    }.get(task.data.kind, "the official test split")
    st.caption(f"Images from {source}, which the model never trained on. Pick one:")
    per_row = min(12, len(examples))  # 71 kana do not fit one row
    cols = [col for start in range(0, len(examples), per_row) for col in st.columns(per_row)]
    chosen_key = f"{task.name}_example"
    for i, (col, (img, _)) in enumerate(zip(cols, examples)):
        with col:
            st.image(Image.fromarray(img).resize((56, 56), Image.Resampling.NEAREST))
            if st.button("Try", key=f"{chosen_key}_{i}"):
                st.session_state[chosen_key] = i
    if chosen_key in st.session_state:
        img, label = examples[st.session_state[chosen_key]]
        st.caption(f"True class: **{task.label(label)}**")
        show_prediction(task, service, Image.fromarray(img), key=f"{chosen_key}_result")


def classify_ui(
    task: TaskSpec, service: TaskService, source, key: str, empty_message: str | None = None
) -> Classification | None:
    """The quantum switch and the big label; bad input becomes a message (None), never a traceback."""
    quantum_on = st.toggle(
        "Quantum branch on",
        value=True,
        key=f"{key}_quantum",
        disabled=not service.is_hybrid,
        help=f"Switch the {service.n_qubits} qubits' contribution off to see how the prediction changes.",
    )
    try:
        result = service.classify(source, quantum=quantum_on)
    except EmptyImageError as err:
        st.info(empty_message or f"{str(err)[0].upper()}{str(err)[1:]}.")
        return None
    except ImageInputError as err:
        st.error(f"This file cannot be used: {err}.")
        return None
    st.markdown(
        f"<div class='qnn-label' style='font-size:3.2rem;font-weight:700;line-height:1.1'>{result.label}</div>"
        f"<div style='color:#666'>{result.top[0][1]:.1%} confident"
        f"{'' if result.quantum else ' · quantum branch off'}"
        # another animal than the classes: the answer stays visible, marked as unreliable
        f"{' · unreliable: see below' if result.verdict.looks_like else ''}</div>",
        unsafe_allow_html=True,
    )
    unsure_note(task, result)
    return result


def probability_bars(task: TaskSpec, result: Classification, key: str) -> None:
    """The top-k bars; with the quantum branch off, the branch-on probabilities beside them."""
    order = np.argsort(-result.probs)[: len(result.top)]
    chart = probability_chart(
        [task.label(int(i)) for i in order],
        result.probs_quantum_on[order],
        None if result.quantum else result.probs[order],
    )
    st.plotly_chart(chart, width="stretch", key=f"{key}_bars_{_digest(result)}")


def show_prediction(task: TaskSpec, service: TaskService, source, key: str, empty_message: str | None = None) -> None:
    """Everything the page shows for one input."""
    result = classify_ui(task, service, source, key, empty_message)
    if result is None:
        return
    probability_bars(task, result, key)
    explanation = service.explain(result)
    c1, c2 = st.columns(2)
    with c1:
        caption = f"Grad-CAM for “{result.label}” on your image"
        if not explanation.heat.any():
            caption += (
                ": no pixel moves this answer (with the qubits off the head sees only zeros)"
                if service.is_bottleneck and not result.quantum
                else ": no pixel moves this answer"
            )
        st.image(explanation.overlay, caption=caption, width="stretch")
    with c2:
        size = task.input.size
        st.image(explanation.model_input, caption=f"What the model sees ({size}×{size})", width="stretch")
    quantum_view(task, service, result, key)


def quantum_view(task: TaskSpec, service: TaskService, result: Classification, key: str) -> None:
    """The ⚛️ view of this prediction's circuit (quantum_view.py); for a classical-only model, why it is empty."""
    quantum_view_section.render(task, service, result, key, _digest(result))


def _digest(result: Classification) -> str:
    return hashlib.sha1(result.prepared.pixels.tobytes()).hexdigest()[:10]
