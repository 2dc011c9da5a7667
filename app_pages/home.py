import streamlit as st

from app_pages.common import accuracy_text, all_tasks
from qnn_core.service import CheckpointError, TaskService, model_summary

st.title("⚛️ Hybrid Quantum-Classical Image Classifier")
st.markdown(
    "Draw a digit, a letter or a kana, or upload a photo of a garment or an animal, and a hybrid model classifies "
    "it, shows its probabilities and explains itself. Each model is a small **ResNet** feature extractor (for "
    "the photo tasks, clothes and animals, an ImageNet-pretrained **EfficientNet-Lite0**) feeding two branches: "
    "a classical fully connected branch and an **8-qubit variational quantum circuit** simulated with "
    "TorchQuantum. A fused head reads both. Every model was trained here on the real data set and measured on "
    "its test split (the official one where the data set has one; letters: real pen strokes plus synthetic "
    "handwriting, measured on writers the model never saw; hiragana: KanjiVG strokes by a simulated hand and a font "
    "held out of training; clothes: its photos' test split is kept apart, so the number shown is validation's); a "
    "classical-only twin is trained the same way, so you can see what the qubits add."
)

CARDS_PER_ROW = 4  # seven cards in one row truncate their accuracies to "99.…" on a laptop screen
tasks = all_tasks()
cols = [col for start in range(0, len(tasks), CARDS_PER_ROW) for col in st.columns(CARDS_PER_ROW)]
for col, task in zip(cols, tasks):
    hybrid, classical = model_summary(task.name, True), model_summary(task.name, False)
    with col, st.container(border=True):
        st.subheader(task.title)
        st.caption(f"{task.num_classes} classes: " + ", ".join(task.label(i) for i in range(task.num_classes)))
        split = hybrid.split if hybrid else "test"
        st.metric(f"Hybrid {split} accuracy", accuracy_text(hybrid.accuracy if hybrid else None))
        st.metric("Classical-only", accuracy_text(classical.accuracy if classical else None))
        if hybrid is not None:
            served = " (as served: image and mirror image averaged)" if task.test_time_mirror else ""
            st.caption(
                f"{hybrid.test_size:,} {split} images{served} · {hybrid.epochs} epochs · "
                f"{hybrid.train_minutes:.0f} min training on a 2-core CPU, all runs counted"
            )

st.header("The quantum circuit")
try:
    digits = TaskService.get("mnist")
    figure = digits.circuit()
except CheckpointError:
    figure = None
if figure is None:
    st.info("The digits model is not available, so its circuit cannot be drawn.")
else:
    n, depth = digits.n_qubits, digits.q_depth
    st.markdown(
        f"This is the circuit inside the trained digits model, drawn from the model itself. The backbone's "
        f"features become **{n} angles** x0…x{n - 1} (bounded to ±π by π·tanh), which "
        f"**RY** gates write onto the qubits. Then **{depth} layers** of trainable **RX**·**RY** rotations "
        f"(the numbers are the learned angles, in radians) and a ring of **CNOT** gates entangle them. "
        f"The **⟨Z⟩** of each qubit, a number between −1 and +1, goes to the classifier's head beside 64 "
        f"classical features."
    )
    st.plotly_chart(figure, width="stretch")
