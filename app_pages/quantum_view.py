"""The ⚛️ quantum view of a prediction: the qubits' <Z>, the whole state, Bloch spheres, entanglement, shots, noise,
and the circuit on a simulated real device (device_view.py).

Widgets in, one TaskService call per view, charts out (quantum_charts.py): the physics is in the service,
which re-runs only the circuit and the head of this prediction and never changes the shared model.
"""

from __future__ import annotations

import streamlit as st

from app_pages import device_view
from app_pages import quantum_charts as charts
from app_pages.common import expval_chart
from qnn_core.service import SHOT_CHOICES, Classification, QuantumState, TaskService
from qnn_core.tasks import TaskSpec

RESAMPLES = 20  # re-samplings of the shot view: enough to see how often the label flips
DEVICE_VIEW = "On a real device"
VIEWS = ["⟨Z⟩", "State", "Bloch spheres", "Entanglement", "Shots", "Noise", DEVICE_VIEW]


def render(task: TaskSpec, service: TaskService, result: Classification, key: str, digest: str) -> None:
    with st.expander("⚛️ Quantum view", expanded=True):
        if not service.is_hybrid or result.circuit_input is None:
            st.info(
                "This model is **classical-only**: the twin of the hybrid without its circuit, kept to measure "
                "what the qubits add. It has no qubits, so there is no state, no entanglement, nothing to "
                "measure and no circuit to run on a device here; the Training page can serve the shipped hybrid again."
            )
            return
        # One view at a time, not tabs: tabs would compute and send every view (noise included) on each stroke.
        view = st.segmented_control("Look at", VIEWS, default=VIEWS[0], key=f"{key}_view") or VIEWS[0]
        if view == "⟨Z⟩":
            _expvals(task, service, result, key, digest)
        elif view == "Shots":
            _shots(service, result, key, digest)
        elif view == "Noise":
            _noise(service, result, key, digest)
        elif view == DEVICE_VIEW:
            device_view.render(task, service, result, key, digest)
        else:
            _state_views(view, service.quantum_state(result), key, digest)


def _state_views(view: str, state: QuantumState, key: str, digest: str) -> None:
    mirrored = " It shows the image as given; the prediction also averages its mirror image." if state.mirrored else ""
    if view == "State":
        _state(state, mirrored, key, digest)
    elif view == "Bloch spheres":
        st.caption(
            "Each qubit's own state as a vector (⟨X⟩, ⟨Y⟩, ⟨Z⟩) on the Bloch sphere: up is |0⟩, down "
            "is |1⟩. After the encoding every vector reaches the surface (each qubit has a pure state of "
            "its own); at the end most are shorter: a qubit entangled with the others has no pure state "
            f"of its own, and the head reads only the height, ⟨Z⟩.{mirrored}"
        )
        st.plotly_chart(charts.bloch_chart(state), width="stretch", key=f"{key}_bloch_{digest}")
    else:
        ent = state.final.entropy
        st.caption(
            "Per qubit, the von Neumann entropy of its reduced state (0: unentangled, 1 bit: maximally "
            "entangled with the rest) and its purity Tr ρ² (1: pure, ½: maximally mixed). After the "
            "encoding the register is a product state, all zero entropy: the CNOT rings of the "
            f"trainable layers made this entanglement, most on q{int(ent.argmax())} "
            f"({ent.max():.2f} bits), least on q{int(ent.argmin())} ({ent.min():.2f}).{mirrored}"
        )
        st.plotly_chart(charts.entanglement_chart(state), width="stretch", key=f"{key}_ent_{digest}")


def _expvals(task: TaskSpec, service: TaskService, result: Classification, key: str, digest: str) -> None:
    pair = (
        " (the mean over it and its mirror image, which the prediction averages too)" if task.test_time_mirror else ""
    )
    st.caption(
        f"⟨Z⟩ of each of the {len(result.expvals)} qubits for this input{pair}: +1 means the qubit ends "
        "in |0⟩, −1 in |1⟩. "
        + (
            "They are all the head reads: there are no classical features beside them."
            if service.is_bottleneck
            else "These are what the head reads beside the classical features."
        )
    )
    st.plotly_chart(expval_chart(result.expvals), width="stretch", key=f"{key}_z_{digest}")
    line = service.bottleneck_line() or service.results().ablation_line
    if line and service.serving().job_id is None:
        st.markdown(line)


def _state(state: QuantumState, mirrored: str, key: str, digest: str) -> None:
    n = state.n_qubits
    top = ", ".join(f"{k} {p:.1%}" for k, p in state.final.top[:3])
    if state.every_state:
        st.caption(
            f"The probability of each of the 2^{n} = {2**n} basis states if all qubits were measured "
            "(qubit 0 is the leftmost bit, as TorchQuantum orders them). The encoding alone gives a "
            "product state; the trainable layers spread and entangle it. Most likely at the end: "
            f"{top}.{mirrored}"
        )
    else:
        st.caption(
            f"This model has {n} qubits, 2^{n} = {2**n:,} basis states: too many for a bar each, so "
            f"only the {len(state.final.top)} most likely of each stage are listed. Most likely at the "
            f"end: {top}.{mirrored}"
        )
    st.plotly_chart(charts.state_chart(state), width="stretch", key=f"{key}_state_{digest}")


def _shots(service: TaskService, result: Classification, key: str, digest: str) -> None:
    st.caption(
        "A real quantum computer never returns ⟨Z⟩: each run (a *shot*) measures every qubit once, giving "
        "one bitstring, and ⟨Z⟩ is estimated as an average over the shots. Choose how many: each estimate "
        f"is drawn {RESAMPLES} times (seeded) to show how much the prediction moves."
    )
    shots = st.select_slider(
        "Shots per estimate",
        options=list(SHOT_CHOICES),
        value=SHOT_CHOICES[0],
        format_func=lambda s: "exact" if s == 0 else f"{s:,}",
        key=f"{key}_shots",
    )
    seed_key = f"{key}_shots_seed"
    if shots and st.button("🎲 Draw again", key=f"{key}_shots_redraw"):
        st.session_state[seed_key] = st.session_state.get(seed_key, 0) + 1
    estimate = service.shots(result, shots, resamples=RESAMPLES, seed=st.session_state.get(seed_key, 0))
    if not shots:
        st.info("Exact ⟨Z⟩, a simulator's luxury: the prediction is the one above. Move the slider to measure.")
    else:
        p = estimate.exact_label_probs
        counts = ", ".join(f"“{label}” {k}×" for label, k in estimate.label_counts)
        st.markdown(
            f"<div class='qnn-shots'>Over {estimate.resamples} re-samplings of {shots:,} shots: {counts}. The label "
            f"differs from the exact one (“{estimate.exact_label}”) in <b>{estimate.flips} of {estimate.resamples}"
            f"</b> ({estimate.flip_rate:.0%}); its probability is {p.mean():.1%} ± {p.std():.1%} (from "
            f"{p.min():.1%} to {p.max():.1%}; exact {estimate.exact_probs[estimate.exact_index]:.1%}).</div>",
            unsafe_allow_html=True,
        )
    st.plotly_chart(charts.shots_chart(estimate), width="stretch", key=f"{key}_shots_{digest}_{shots}")


def _noise(service: TaskService, result: Classification, key: str, digest: str) -> None:
    if not service.offers_noise:
        st.info(
            f"The noise view is offered up to {service.noise_max_qubits} qubits. This model has "
            f"{service.n_qubits}: its density matrix has 4^{service.n_qubits} entries, and simulating it "
            "through every layer would take far longer than a prediction may."
        )
        return
    st.caption(
        "Real qubits are noisy. Here every qubit, after each gate layer (the encoding and each trainable "
        "layer), is replaced by a random state with probability p (the depolarizing channel), simulated "
        f"exactly with the 2^{service.n_qubits}×2^{service.n_qubits} density matrix."
    )
    p = st.slider("Depolarizing probability p per gate layer", 0.0, 0.5, 0.05, 0.01, key=f"{key}_noise")
    effect = service.noise(result, p)
    verdict = (
        f"changes to **{effect.label}** ({effect.probs.max():.1%})"
        if effect.changed
        else f"stays **{effect.label}** ({effect.probs.max():.1%}, exact {effect.exact_probs.max():.1%})"
    )
    st.markdown(
        f"With p = {p:g} the ⟨Z⟩ shrink towards 0 and the prediction {verdict}. The register's state is "
        f"mixed: purity Tr ρ² = {effect.purity:.3f} (1 for a pure state)."
    )
    st.plotly_chart(charts.noise_chart(effect), width="stretch", key=f"{key}_noise_{digest}_{p}")
