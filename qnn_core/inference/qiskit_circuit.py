"""The served model's circuit as a Qiskit circuit: to check it, to run it on a simulated device, to export it.

For one input the circuit is: RY(angle_w) on every wire (the angles the hybrid computes for the image,
`bounded_angles(to_angles(features))`), then `depth` layers of RX(theta) and RY(theta) on every wire with the
trained parameters, each layer closed by the CNOT ring, then every qubit measured.

Qubit order: the model's wire w is Qiskit's qubit w, and measured into classical bit w. The two libraries number
basis states the other way round: TorchQuantum puts wire 0 in the most significant bit (|10000000> is wire 0 in
|1>), Qiskit puts qubit 0 in the least significant one (its bitstrings print c[0] rightmost). So nothing here
goes through a basis state's index: everything is per-qubit <Z_w> = P(qubit w reads 0) - P(it reads 1), the same
in both. Gates: RX(t) = exp(-i t X / 2) and RY(t) = exp(-i t Y / 2) in both libraries; CNOT(a, b) has a as control.

`tests/inference/test_qiskit_circuit.py` checks the statevector's <Z> against the model's own, and the OpenQASM
files read back.

Importing this module imports Qiskit (about a second): the service and the CLIs import it inside the functions
that need it, never at start-up.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch

from qnn_core.models.quantum import QuantumLayer

with warnings.catch_warnings():
    # The two warnings these imports raise in qiskit 0.45 / qiskit-aer 0.12, by name: nothing else is silenced.
    warnings.filterwarnings(
        "ignore", r"The qiskit\.extensions module is pending deprecation", PendingDeprecationWarning
    )
    warnings.filterwarnings("ignore", r".*qiskit\.utils\.algorithm_globals", DeprecationWarning)
    from qiskit import QuantumCircuit, qasm2, qasm3
    from qiskit.circuit import ParameterVector
    from qiskit.quantum_info import Statevector


def trained_angles(layer: QuantumLayer) -> np.ndarray:
    """(2, depth, n) float64: the trained RX angles (row 0) and RY angles (row 1), layer by layer."""
    with torch.no_grad():
        return layer.theta().detach().to("cpu", torch.float64).numpy()


def model_circuit(
    layer: QuantumLayer, angles: Sequence[float] | np.ndarray | None = None, measure: bool = True
) -> QuantumCircuit:
    """The circuit for one input's encoding angles (n,), or with parameters x[0..n-1] in their place (None).

    `measure` adds the measurement of every qubit w into classical bit w, as a device needs."""
    n = layer.n_qubits
    if angles is None:
        encoding: Sequence = ParameterVector("x", n)
    else:
        encoding = [float(a) for a in np.asarray(angles, dtype=np.float64).reshape(-1)]
        if len(encoding) != n:
            raise ValueError(f"expected {n} encoding angles, got {len(encoding)}")
    theta = trained_angles(layer)
    qc = QuantumCircuit(n, n if measure else 0, name="qnn")
    for w in range(n):
        qc.ry(encoding[w], w)
    for d in range(layer.depth):
        for w in range(n):
            qc.rx(float(theta[0, d, w]), w)
            qc.ry(float(theta[1, d, w]), w)
        for a, b in layer.ring():
            qc.cx(a, b)
    if measure:
        qc.measure(range(n), range(n))
    return qc


def statevector_expvals(qc: QuantumCircuit) -> np.ndarray:
    """<Z_w> of every qubit of a bound circuit's final state (its measurements dropped), wire 0 first."""
    probs = Statevector(qc.remove_final_measurements(inplace=False)).probabilities()
    n = qc.num_qubits
    bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1  # Qiskit: qubit w is bit w of the index
    return probs @ (1 - 2 * bits)


def counts_expvals(counts: Mapping[str, int], n: int) -> np.ndarray:
    """<Z_w> estimated from measurement counts {bitstring: count}, Qiskit's bitstrings (c[0] rightmost)."""
    total, z = 0, np.zeros(n)
    for bits, k in counts.items():
        b = bits.replace(" ", "")
        z += k * np.array([1 - 2 * int(b[-1 - w]) for w in range(n)], dtype=np.float64)
        total += k
    return z / total


def memory_expvals(memory: Sequence[str], n: int, groups: int) -> np.ndarray:
    """(groups, n) <Z> from per-shot bitstrings split into `groups` consecutive runs of equal size."""
    if len(memory) % groups:
        raise ValueError(f"{len(memory)} shots do not split into {groups} equal runs")
    bits = np.array([[int(b[-1 - w]) for w in range(n)] for b in (m.replace(" ", "") for m in memory)], np.float64)
    return (1 - 2 * bits).reshape(groups, -1, n).mean(1)


def export_header(
    task: str,
    task_title: str,
    model: str,
    checkpoint: str,
    source: str,
    expvals: Iterable[float],
    mirrored: bool,
    version: int,
) -> list[str]:
    """The comment lines an exported file starts with: what it is, and what a correct run of it gives."""
    lines = [
        f"OpenQASM {version} export of the {model} model's quantum circuit (qnn-core)",
        f"task: {task} ({task_title}); checkpoint: {checkpoint}",
        f"input: {source}",
        "Qubit w is the model's wire w and is measured into classical bit c[w] (in Qiskit's bitstrings c[0] is",
        "the rightmost bit). <Z_w> = P(c[w] = 0) - P(c[w] = 1).",
        "Expected exact <Z> (wire 0 first; a run of N shots scatters about these by up to ~1/sqrt(N)):",
        "  " + ", ".join(f"{v:+.6f}" for v in expvals),
    ]
    if mirrored:
        lines += [
            "This task's prediction averages the image with its mirror image (test-time mirroring); this circuit",
            "and these <Z> are those of the image as given, not the mean of the pair.",
        ]
    lines.append("Run it on any simulator or device; nothing here contacted one.")
    return lines


def to_qasm(qc: QuantumCircuit, version: int, header: Sequence[str] = ()) -> str:
    """OpenQASM 2 or 3 text of a bound circuit, the header as // comments before the version line."""
    if version not in (2, 3):
        raise ValueError(f"OpenQASM version must be 2 or 3, got {version}")
    body = qasm2.dumps(qc) if version == 2 else qasm3.dumps(qc)
    comments = "".join(f"// {line}\n" for line in header)
    return comments + body.rstrip("\n") + "\n"
