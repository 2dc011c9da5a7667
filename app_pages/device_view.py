"""The quantum view's "On a real device": this input's circuit routed onto a simulated IBM device and run there.

A simulation from a calibration snapshot (qiskit's fake backends, qiskit-aer), never a run on hardware, and the
page says so. The run is a button, not every stroke: it is kept in the session for the input it was made for.
The physics is in the service (`TaskService.device_routing / device_run / qasm`); this is widgets and words.
"""

from __future__ import annotations

import streamlit as st

from app_pages import quantum_charts as charts
from qnn_core.service import DEVICE_SHOTS, Classification, DeviceRun, TaskService
from qnn_core.tasks import TaskSpec


def render(task: TaskSpec, service: TaskService, result: Classification, key: str, digest: str) -> None:
    devices = service.devices()
    if not devices:
        st.info(f"None of the simulated devices has the {service.n_qubits} qubits this model's circuit needs.")
        return
    st.caption(
        "**A simulation from a calibration snapshot, not a run on hardware.** qiskit ships snapshots of real IBM "
        "devices: their coupling map, gates, gate errors, T1/T2 and readout errors as measured on one day. Here "
        "this input's circuit is routed onto one of them by qiskit's transpiler and run under that day's noise "
        "by qiskit-aer, on this server. No quantum computer is contacted; the OpenQASM files below let you run the "
        "circuit on one with your own account."
    )
    names = [d.name for d in devices]
    by_name = {d.name: d for d in devices}
    left, right = st.columns([3, 2])
    device = left.selectbox(
        "Device (qiskit's name)",
        names,
        index=0,
        format_func=lambda n: by_name[n].label,
        key=f"{key}_device",
        help="Only devices with at least as many qubits as the model's circuit are listed.",
    )
    with right:
        shots = st.segmented_control(
            "Shots", list(DEVICE_SHOTS), default=1000, format_func=lambda s: f"{s:,}", key=f"{key}_device_shots"
        )
    shots = shots or 1000
    chosen = by_name[device]
    run_key, wanted = f"{key}_device_result", (digest, device, shots)
    if st.button(f"▶ Run on {device} (simulated)", key=f"{key}_device_go", type="primary"):
        with st.spinner(f"Routing the circuit onto {device} and simulating {shots:,} noisy shots …"):
            st.session_state[run_key] = (wanted, service.device_run(result, device, shots))
    stored = st.session_state.get(run_key)
    if stored is None or stored[0] != wanted:
        st.info(
            f"Press **Run** to route this input's circuit onto {chosen.name} (a snapshot of IBM's {chosen.ibm_name}, "
            f"calibrated {chosen.snapshot}) and measure it {shots:,} times under that day's noise, five times over. "
            "The first run on a device also routes the circuit and builds the noise model (a few seconds)."
            + (" The input or the settings changed since the last run." if stored is not None else "")
        )
    else:
        _result(stored[1], chosen.snapshot, key, digest)
        _routing(service, device, key, digest)
    _downloads(task, service, result, key, digest)


def _routing(service: TaskService, device: str, key: str, digest: str) -> None:
    r = service.device_routing(device)  # built by the run, cached: instant here
    st.markdown(f"#### The routing onto {device}")
    st.markdown(
        f"| | the model's circuit | routed onto {device} | left free (for comparison) |\n"
        "|---|---|---|---|\n"
        f"| CNOTs | {r.cnots_before} | **{r.cnots_after}** | {r.free.cnots} |\n"
        f"| depth (layers of gates) | {r.depth_before} | **{r.depth_after}** | {r.free.depth} |\n"
        f"| qubits | {r.n_qubits} wires | **{len(r.physical)}** of {r.device.qubits} physical | "
        f"{len(r.free.qubits)} of {r.device.qubits} |\n"
        f"| SWAPs inserted | – | **{r.swaps}** | |"
    )
    st.markdown(
        f"The model's {r.n_qubits} wires are joined by a **ring** of CNOTs (q0→q1→…→q7→q0), {r.cnots_before // r.n_qubits} "
        f"times over. {device}'s qubits are coupled in a heavy-hex lattice where no {r.n_qubits} qubits form a "
        "ring, so qiskit's transpiler (optimization level "
        f"{r.optimization_level}, seed_transpiler {r.seed_transpiler}) inserts SWAPs to bring the qubits of each "
        "CNOT together, and translates every gate into the device's own (√X, RZ, X, CNOT). Left free it would "
        f"spread the circuit over {len(r.free.qubits)} qubits; here it is confined to the {len(r.physical)} "
        "best-connected, least noisy ones (qiskit's DenseLayout), so that the noisy state is an exact "
        f"{2**r.n_qubits} × {2**r.n_qubits} density matrix, simulated in a fraction of a second. Each wire starts "
        "on the qubit labelled with its name; the SWAPs move the wires about, and they are measured on "
        f"{', '.join(f'q{w}→Q{p}' for w, p in enumerate(r.final))}."
    )
    st.plotly_chart(charts.coupling_map_chart(r), width="stretch", key=f"{key}_coupling_{device}")
    with st.expander("The routed circuit (qiskit's drawing; x[w] is wire w's encoding angle)"):
        st.code(r.drawing, language=None)
    st.markdown("#### The noise on those qubits")
    st.markdown(
        f"| median | on the {len(r.physical)} qubits used | over all {r.device.qubits} |\n"
        "|---|---|---|\n"
        f"| CNOT error | **{r.median_cx_error_used:.2%}** (on the couplers used) | {r.median_cx_error:.2%} |\n"
        f"| readout error | **{_median([q.readout_error for q in r.qubits]):.2%}** | {r.median_readout_error:.2%} |\n"
        f"| T1 (relaxation) | **{_median([q.t1_us for q in r.qubits]):.0f} µs** | {r.median_t1_us:.0f} µs |\n"
        f"| T2 (dephasing) | **{_median([q.t2_us for q in r.qubits]):.0f} µs** | {r.median_t2_us:.0f} µs |"
    )
    st.caption(
        f"Each of the {r.cnots_after} CNOTs fails about {r.median_cx_error_used:.1%} of the time, each qubit decays "
        "while its gates run (a CNOT takes a few hundred nanoseconds), and each measurement misreads 0 and 1 "
        "now and then."
    )
    with st.expander("Each physical qubit's calibration"):
        _calibration_table(r, key, device)


def _calibration_table(r, key: str, device: str) -> None:
    st.dataframe(
        [
            {
                "physical qubit": f"Q{q.physical}",
                "wire at the start": "–" if q.wire is None else f"q{q.wire}",
                "readout error": q.readout_error,
                "T1 (µs)": round(q.t1_us, 1),
                "T2 (µs)": round(q.t2_us, 1),
                "√X error": q.sx_error,
            }
            for q in r.qubits
        ],
        hide_index=True,
        column_config={
            "readout error": st.column_config.NumberColumn(format="percent"),
            "√X error": st.column_config.NumberColumn(format="%.5f"),
        },
        key=f"{key}_calibration_{device}",
    )


def _result(run: DeviceRun, snapshot: str, key: str, digest: str) -> None:
    st.markdown(f"#### {run.shots:,} shots on {run.device}")
    counts = ", ".join(f"“{label}” {k}×" for label, k in run.label_counts)
    ideal = ", ".join(f"“{label}” {k}×" for label, k in run.ideal.label_counts)
    p = run.probs[:, int(run.exact_probs.argmax())]
    st.markdown(
        f"<div class='qnn-device'>Exact circuit: <b>“{run.exact_label}”</b> ({run.exact_probs.max():.1%}). "
        f"With {run.shots:,} ideal shots, {run.ideal.resamples} re-runs: {ideal}. "
        f"With {run.shots:,} shots on <b>{run.device}</b> (calibration of {snapshot}), {run.reruns} re-runs: "
        f"{counts}; the label differs from the exact one in <b>{run.flips} of {run.reruns}</b>, and "
        f"“{run.exact_label}” gets {p.mean():.1%} ± {p.std():.1%}. The noise pulls every ⟨Z⟩ towards 0: "
        f"on average the device keeps {_kept(run):.0%} of their size. Simulated in {run.seconds:.2f} s "
        f"(seed_simulator {run.seed}).</div>",
        unsafe_allow_html=True,
    )
    st.plotly_chart(charts.device_chart(run), width="stretch", key=f"{key}_device_z_{digest}_{run.device}_{run.shots}")


def _downloads(task: TaskSpec, service: TaskService, result: Classification, key: str, digest: str) -> None:
    st.markdown("#### Run it elsewhere")
    mirrored = (
        " This task's prediction averages the image with its mirror image; the file is the image as given."
        if task.test_time_mirror
        else ""
    )
    st.caption(
        "This input's circuit (not routed: your provider's transpiler routes it for its own device), with a header "
        f"comment naming the task, the model and the exact ⟨Z⟩ a correct run should approach.{mirrored} Upload it "
        "to IBM Quantum or any simulator with your own account; `qnn predict --qasm DIR` writes the same files."
    )
    source = f"an image on the app's {task.title} page (model input sha1 {digest})"
    a, b = st.columns(2)
    a.download_button(
        "⬇ OpenQASM 2 (.qasm)",
        service.qasm(result, 2, source),
        file_name=f"{task.name}_{digest}.qasm",
        mime="text/plain",
        key=f"{key}_qasm2",
    )
    b.download_button(
        "⬇ OpenQASM 3 (.qasm3)",
        service.qasm(result, 3, source),
        file_name=f"{task.name}_{digest}.qasm3",
        mime="text/plain",
        key=f"{key}_qasm3",
    )


def _median(values: list[float]) -> float:
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def _kept(run: DeviceRun) -> float:
    """How much of the exact <Z>'s size the device's first run keeps: the least-squares slope through 0."""
    exact, noisy = run.exact_expvals, run.expvals[0]
    return float(exact @ noisy / max(exact @ exact, 1e-12))
