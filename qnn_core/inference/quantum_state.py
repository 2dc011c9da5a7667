"""The served circuit's quantum state for one input: what the eight <Z> bars summarise, shown whole.

The model's own circuit is the definition. The encoding is `QuantumLayer.product_state` (RY(angle_w)|0> on
every wire), the trainable layers are `QuantumLayer.layer_unitary()` (TorchQuantum's circuit folded into one
matrix), and, for the noise view, each layer's own unitary is built the same way: TorchQuantum's gate functions
with the layer's RX / RY parameters run on every basis state. So these pictures cannot drift from what the
model computes; `tests/inference/test_quantum_state.py` checks every quantity against a numpy simulation.

Basis states are numbered as TorchQuantum numbers them: wire 0 is the most significant bit, so in |10000000>
qubit 0 is |1> and the others |0>.

Nothing here changes the layer: `Circuit` reads its matrices once and keeps its own copies, and the per-layer
unitaries are built once under a lock, so threads serving one model share a Circuit safely.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from qnn_core.models import fused_circuit as fused
from qnn_core.models.quantum import QuantumLayer, tq

TOP_STATES = 8  # basis states labelled (and, above STATE_BARS_MAX_QUBITS, the only ones listed)
STATE_BARS_MAX_QUBITS = 8  # up to 256 basis states a bar each; a larger register lists its top states only


class Circuit:
    """A served QuantumLayer as matrices on the CPU, read once: its parameters are frozen, so they stay right."""

    def __init__(self, layer: QuantumLayer) -> None:
        self.layer = layer
        self.n_qubits = layer.n_qubits
        self.depth = layer.depth
        self.dim = 2**layer.n_qubits
        self.device = layer.rx[0].params.device
        with torch.no_grad():
            self.unitary = layer.layer_unitary().detach().to("cpu", torch.complex64)  # column j = U e_j
        self.z_signs = z_signs(self.n_qubits)  # (2^n, n) float64
        self._layers: tuple[torch.Tensor, ...] | None = None
        self._lock = threading.Lock()

    def encoded_states(self, angles: torch.Tensor) -> torch.Tensor:
        """(views, n) angles -> (views, 2^n) amplitudes after the encoding alone, real (a product state)."""
        with torch.no_grad():
            return self.layer.product_state(angles.to(self.device)).detach().to("cpu", torch.float32)

    def final_states(self, angles: torch.Tensor) -> torch.Tensor:
        """(views, n) angles -> (views, 2^n) complex amplitudes after the whole circuit, before measurement."""
        return self.encoded_states(angles).to(torch.complex64) @ self.unitary.T

    def layer_unitaries(self) -> tuple[torch.Tensor, ...]:
        """Each trainable layer's own unitary (RX, RY on every wire, then the CNOT ring), first layer first.
        Built on first use only (the noise view needs them, 3 x 2^n x 2^n), once, whichever thread asks first."""
        with self._lock:
            if self._layers is None:
                self._layers = tuple(layer_unitary(self.layer, i) for i in range(self.depth))
            return self._layers


def layer_unitary(layer: QuantumLayer, index: int) -> torch.Tensor:
    """Layer `index` of the circuit as (2^n, 2^n), column j = U e_j, built by the fused code the model's own
    unitary comes from (milliseconds, and no TorchQuantum import on a server); equal to `tq_layer_unitary`
    (tests/inference/test_quantum_state.py)."""
    with torch.no_grad():
        plan = layer.plan(layer.rx[0].params.device)
        gates = fused.gate_matrices(layer.theta())[index : index + 1]
        return fused.ring(plan, fused.unitary_before_ring(plan, gates)).detach().to("cpu", torch.complex64)


def tq_layer_unitary(layer: QuantumLayer, index: int) -> torch.Tensor:
    """Layer `index` of the circuit run by TorchQuantum on every basis state, as (2^n, 2^n), column j = U e_j.

    TorchQuantum's gate functions take the modules' parameters directly: calling the tq modules themselves
    would write their `wires` attribute, a change to the shared model.
    """
    n, dim = layer.n_qubits, 2**layer.n_qubits
    device = layer.rx[0].params.device
    tqm, tqf = tq()
    with torch.no_grad():
        qdev = tqm.QuantumDevice(n_wires=n, bsz=dim, device=device)
        qdev.set_states(torch.eye(dim, dtype=torch.complex64, device=device).reshape([dim] + [2] * n))
        for w in range(n):
            tqf.rx(qdev, wires=w, params=layer.rx[index * n + w].params)
            tqf.ry(qdev, wires=w, params=layer.ry[index * n + w].params)
        for a, b in layer.ring():
            tqf.cnot(qdev, wires=[a, b])
        return qdev.get_states_1d().T.detach().to("cpu", torch.complex64).contiguous()


def z_signs(n: int) -> np.ndarray:
    """(2^n, n): the eigenvalue of Z on wire w in basis state k, +1 for |0>, -1 for |1> (wire 0 most significant)."""
    k = np.arange(2**n)[:, None]
    bits = (k >> np.arange(n - 1, -1, -1)[None, :]) & 1
    return (1 - 2 * bits).astype(np.float64)


def ket(index: int, n: int) -> str:
    """Basis state `index` written as a ket, wire 0 first: ket(105, 8) == '|01101001⟩'."""
    return f"|{index:0{n}b}⟩"


def probabilities(states: torch.Tensor | np.ndarray) -> np.ndarray:
    """|amplitude|^2 of each basis state, float64 (the measurement distribution of a pure state)."""
    amps = states.numpy() if isinstance(states, torch.Tensor) else states
    return np.abs(amps.astype(np.complex128)) ** 2


def top_states(probs: np.ndarray, n: int, k: int = TOP_STATES) -> tuple[tuple[str, float], ...]:
    """The k most likely basis states as (ket, probability), most likely first."""
    order = np.argsort(-probs, kind="stable")[:k]
    return tuple((ket(int(i), n), float(probs[i])) for i in order)


def reduced_from_state(state: np.ndarray, n: int) -> np.ndarray:
    """Each qubit's reduced density matrix of a pure state: (2^n,) amplitudes -> (n, 2, 2), the others traced out."""
    psi = np.asarray(state, dtype=np.complex128)
    out = np.empty((n, 2, 2), np.complex128)
    for w in range(n):
        t = psi.reshape(2**w, 2, 2 ** (n - w - 1))
        out[w] = np.einsum("aib,ajb->ij", t, t.conj())
    return out


def reduced_from_density(rho: np.ndarray, n: int) -> np.ndarray:
    """Each qubit's reduced density matrix of a (2^n, 2^n) density matrix, as (n, 2, 2)."""
    rho = np.asarray(rho, dtype=np.complex128)
    out = np.empty((n, 2, 2), np.complex128)
    for w in range(n):
        a, b = 2**w, 2 ** (n - w - 1)
        out[w] = np.einsum("aibajb->ij", rho.reshape(a, 2, b, a, 2, b))
    return out


def bloch_vectors(rhos: np.ndarray) -> np.ndarray:
    """(n, 2, 2) one-qubit density matrices -> (n, 3) Bloch vectors (<X>, <Y>, <Z>): rho = (I + xX + yY + zZ)/2.
    Length 1 on the sphere's surface for a pure qubit; shorter when the qubit is entangled with the rest."""
    return np.stack([2 * rhos[:, 0, 1].real, -2 * rhos[:, 0, 1].imag, (rhos[:, 0, 0] - rhos[:, 1, 1]).real], axis=1)


def purities(rhos: np.ndarray) -> np.ndarray:
    """Tr rho^2 of each one-qubit state: 1 for a pure (unentangled) qubit, 1/2 for a maximally mixed one."""
    return np.einsum("nij,nji->n", rhos, rhos).real


def entropies(rhos: np.ndarray) -> np.ndarray:
    """Von Neumann entropy -Tr rho log2 rho of each one-qubit state, in bits: 0 unentangled, 1 maximally.
    From the eigenvalues (1 +- |r|)/2, |r| the Bloch vector's length, so no eigen-solver rounding below 0."""
    r = np.clip(np.linalg.norm(bloch_vectors(rhos), axis=1), 0.0, 1.0)
    lam = np.stack([(1 + r) / 2, (1 - r) / 2], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(lam > 1e-12, -lam * np.log2(lam), 0.0)
    return np.abs(terms.sum(1))  # abs: -0.0 for a pure qubit reads as 0


@dataclass(frozen=True)
class StageState:
    """The register at one point of the circuit, for one input: what a measurement would give, and each qubit."""

    probs: np.ndarray  # (2^n,) basis-state probabilities (wire 0 most significant)
    top: tuple[tuple[str, float], ...]  # the most likely basis states, as kets, most likely first
    bloch: np.ndarray  # (n, 3) each qubit's (<X>, <Y>, <Z>)
    purity: np.ndarray  # (n,) Tr rho^2 of each qubit's reduced state
    entropy: np.ndarray  # (n,) its von Neumann entropy in bits

    @property
    def expvals(self) -> np.ndarray:
        """<Z> of each qubit: the Bloch vectors' z, what the model's head reads."""
        return self.bloch[:, 2]


def stage(state: torch.Tensor | np.ndarray, n: int) -> StageState:
    """Everything the quantum view shows about one pure state of n qubits."""
    amps = state.numpy() if isinstance(state, torch.Tensor) else np.asarray(state)
    probs = probabilities(amps)
    rhos = reduced_from_state(amps, n)
    return StageState(probs, top_states(probs, n), bloch_vectors(rhos), purities(rhos), entropies(rhos))
