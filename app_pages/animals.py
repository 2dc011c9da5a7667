"""Animals: classify a photo, explain it with Grad-CAM over the photo itself, and show the qubits."""
from __future__ import annotations

import streamlit as st

from app_pages.common import predictor
from app_pages.task_page import bars_and_heat, predict_with_switch, quantum_view
from qnn_core import jobs
from qnn_core.inference.explain import model_input_image, overlay
from qnn_core.inference.ood import photo_animal_share
from qnn_core.models.checkpoint import CheckpointError
from qnn_core.preprocess.image import ImageInputError, prepare
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
        f"small, blurry {TASK.input.native}×{TASK.input.native} CIFAR-10 pictures, not from sharp photos: one clear "
        "animal filling much of the frame works best, and its guesses on other photos are less reliable than its "
        "test accuracy suggests.")
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
    quantum_on, pred_on, pred = predict_with_switch(TASK, model, prepared, key, k=TASK.num_classes)
    threshold, share_below = model.meta.get("unsure_below"), model.meta.get("animal_share_below")
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
        why = " and ".join(reasons)
        st.warning(f"**None of these?** {why[0].upper()}{why[1:]}. The photo may show something other "
                   f"than a {', '.join(TASK.classes[:-1])} or {TASK.classes[-1]}, or show it too small or unclear: "
                   "take the guess above with caution.", icon="🤔")
    heat = bars_and_heat(TASK, model, prepared, pred_on, pred, quantum_on, key)
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
    quantum_view(TASK, model, prepared, pred, key)


main()
