"""Animals: classify a photo, explain it with Grad-CAM over the photo itself, and show the qubits."""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from app_pages.common import ablation_line, expval_chart, predictor, probability_chart
from qnn_core import jobs
from qnn_core.checkpoint import CheckpointError
from qnn_core.explain import gradcam, model_input_image, overlay
from qnn_core.ood import photo_animal_share
from qnn_core.preprocess import ImageInputError, prepare
from qnn_core.tasks import REPO_ROOT, TASKS

TASK = TASKS["animals"]
EXAMPLES = {"Chelsea the cat (CC0, scikit-image)": REPO_ROOT / "assets" / "animals" / "chelsea.jpg",
            "A cup of coffee (CC0, scikit-image): not an animal": REPO_ROOT / "assets" / "animals" / "coffee.jpg"}
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp"]


def main() -> None:
    st.title(TASK.title)
    st.markdown(
        f"Upload a photo of a **{', '.join(TASK.classes[:-1])} or {TASK.classes[-1]}**. "
        "An ImageNet-pretrained EfficientNet-Lite0 turns it into features; a classical branch and an "
        "8-qubit circuit read them. The model knows only these six classes, and it learnt them from "
        f"small {TASK.input.native}×{TASK.input.native} CIFAR-10 pictures, so a photo is first shrunk to that "
        "size the way they were. One clear animal filling much of the frame works best.")
    try:
        model = predictor(TASK.name, str(jobs.active_checkpoint(TASK.name)))
    except CheckpointError as err:
        st.error(f"No trained model is available for this task. {err}")
        st.stop()
    upload_tab, example_tab = st.tabs(["📁 Upload a photo", "🖼️ Examples"])
    with upload_tab:
        file = st.file_uploader("A photo (JPEG, PNG or WebP, any size)", type=UPLOAD_TYPES, key="animals_upload")
        if file is not None:
            show(model, file.getvalue(), key="animals_upload_result")
    with example_tab:
        name = st.radio("Bundled example photos", list(EXAMPLES), key="animals_example")
        show(model, EXAMPLES[name].read_bytes(), key="animals_example_result")


def show(model, data: bytes, key: str) -> None:
    """Prediction, "none of these?" note, Grad-CAM over the photo, and the quantum view."""
    try:
        prepared = prepare(data, TASK)
    except ImageInputError as err:
        st.error(f"This file cannot be used: {err}.")
        return
    hybrid = model.model_is_hybrid
    quantum_on = st.toggle("Quantum branch on", value=True, key=f"{key}_quantum", disabled=not hybrid,
                           help="Switch the 8 qubits' contribution off to see how the prediction changes.")
    k = TASK.num_classes
    pred_on = model.predict_prepared(prepared, quantum=True, k=k)
    pred = pred_on if quantum_on else model.predict_prepared(prepared, quantum=False, k=k)
    threshold, share_below = model.meta.get("unsure_below"), model.meta.get("animal_share_below")
    st.markdown(f"<div class='qnn-label' style='font-size:3.2rem;font-weight:700;line-height:1.1'>{pred.label}</div>"
                f"<div style='color:#666'>{pred.top[0][1]:.1%} confident"
                f"{'' if quantum_on else ' · quantum branch off'}</div>", unsafe_allow_html=True)
    reasons = []
    if threshold is not None and pred.top[0][1] < threshold:
        reasons.append(f"the top probability is below {threshold:.0%}, which only about 5% of correctly classified "
                       "validation images fall under")
    if share_below is not None:
        share = photo_animal_share(model.model, prepared)
        if share < share_below:
            reasons.append(f"the backbone's own ImageNet classifier gives “any animal” only {share:.0%} "
                           f"(below {share_below:.0%}, which about 5% of validation images fall under)")
    if reasons:
        st.warning(f"**None of these?** {' and '.join(reasons).capitalize()}. The photo may show something other "
                   f"than a {', '.join(TASK.classes[:-1])} or {TASK.classes[-1]}, or show it too small or unclear: "
                   "take the guess above with caution.", icon="🤔")
    digest = hashlib.sha1(prepared.pixels.tobytes()).hexdigest()[:10]
    order = np.argsort(-pred.probs)[:k]
    chart = probability_chart([TASK.label(int(i)) for i in order], pred_on.probs[order],
                              None if quantum_on else pred.probs[order])
    st.plotly_chart(chart, width="stretch", key=f"{key}_bars_{digest}")
    model.model.quantum_enabled = quantum_on
    try:
        heat = gradcam(model.model, prepared, pred.index)
    finally:
        model.model.quantum_enabled = True
    opacity = st.slider("Heat-map opacity", 0.0, 1.0, 0.45, 0.05, key=f"{key}_opacity")
    c1, c2 = st.columns([2, 1])
    with c1:
        w, h = prepared.image.size
        st.image(overlay(prepared, heat, image_weight=1.0 - opacity),
                 caption=f"Grad-CAM for “{pred.label}” over your photo ({w}×{h})", width="stretch")
    with c2:
        size = TASK.input.size
        st.image(model_input_image(prepared, scale=1),
                 caption=f"What the model sees ({size}×{size}, after the {TASK.input.native} px shrink)"
                 if TASK.input.photo_resize == "match" else f"What the model sees ({size}×{size})", width="stretch")
    if hybrid and pred.expvals is not None:
        with st.expander("⚛️ Quantum view", expanded=True):
            st.caption("⟨Z⟩ of each of the 8 qubits for this photo: +1 means the qubit ends in |0⟩, −1 in |1⟩.")
            st.plotly_chart(expval_chart(pred.expvals), width="stretch", key=f"{key}_z_{digest}")
            line = ablation_line(TASK.name)
            if line:
                st.markdown(line)


main()
