import streamlit as st

from pages.common import accuracy_text, all_tasks, checkpoint_meta

st.title("⚛️ Hybrid Quantum-Classical Image Classifier")
st.markdown(
    "Each task's model is a small **ResNet** feature extractor feeding two branches: a classical fully "
    "connected branch and an **8-qubit variational quantum circuit** simulated with TorchQuantum "
    "(RY angle encoding → 3 trainable layers of RX·RY rotations with a CNOT ring → ⟨Z⟩ on every qubit). "
    "A fused head reads both. Every model was trained here on the real data set and measured on its "
    "official test split; the classical-only twin is trained the same way for comparison."
)

cols = st.columns(len(all_tasks()))
for col, task in zip(cols, all_tasks()):
    hybrid, classical = checkpoint_meta(task.name, True), checkpoint_meta(task.name, False)
    with col, st.container(border=True):
        st.subheader(task.title)
        st.caption(f"{task.num_classes} classes: " + ", ".join(task.label(i) for i in range(task.num_classes)))
        st.metric("Hybrid test accuracy", accuracy_text(hybrid))
        st.metric("Classical-only", accuracy_text(classical))
        if hybrid is not None:
            st.caption(f"{hybrid.get('test_size', 0):,} test images · {hybrid['epochs']} epochs · "
                       f"{hybrid['train_time_s'] / 60:.0f} min training on 2 CPU cores")
