"""The quantum branch read out otherwise than exactly (from shots, under noise), and the head on the result.

What one prediction fed its two branches is kept (`CircuitInput`), so the quantum view can re-run only the
circuit and the head, never the backbone: the classical features stay as they were, only the <Z> change.
`BatchReadout` does the same for whole arrays, for `evaluate --shots/--noise`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from qnn_core.inference.quantum_noise import basis_projectors, evolve, heisenberg, quadratic, z_observables
from qnn_core.inference.quantum_shots import sample_expvals
from qnn_core.inference.quantum_state import Circuit, probabilities
from qnn_core.models.hybrid import HybridNet

DENSITY_CHUNK = 16  # inputs whose density matrices are evolved at once (16 x 4^8 complex64 = 8 MB at 8 qubits)


@dataclass(frozen=True)
class CircuitInput:
    """One prediction's inputs to the head, per view (the image, and its mirror image where the task averages
    the pair): the circuit's angles and the classical branch's features, on the CPU."""

    angles: np.ndarray  # (views, n_qubits): bounded_angles(model.to_angles(features))
    classical: np.ndarray | None  # (views, classical_dim); None for a head that reads the qubits alone

    @property
    def views(self) -> int:
        return int(self.angles.shape[0])


@dataclass(frozen=True)
class Readout:
    """How the quantum branch's <Z> are obtained: `shots` measurements per input (0: the exact values) and/or
    depolarizing noise of probability `noise` (see quantum_noise.py for the channel), or `shots` on the simulated
    device `qpu` (a qiskit fake backend's name: its routing and calibrated noise, device_noise.py); seeded."""

    shots: int = 0
    noise: float = 0.0
    seed: int = 0
    qpu: str = ""

    @property
    def exact(self) -> bool:
        return self.shots == 0 and self.noise == 0 and not self.qpu


class BatchReadout:
    """<Z> of many inputs as a Readout says, for `evaluate`: the noisy channel is built once for all of them.

    Under noise the n <Z> observables are pulled back through the channel once (Heisenberg picture), then each
    input costs a quadratic form. With shots too, the whole noisy distribution is needed: pulling back all 2^n
    basis projectors costs as much as ~2^n inputs' density matrices, so fewer `inputs` than that (a --limit
    run) go through their density matrices instead (Schrodinger picture). Both give the same distribution.

    It holds one random generator for a whole evaluation, so that a run is reproducible from its seed: one
    instance per evaluation, not shared between threads.
    """

    def __init__(self, circuit: Circuit, readout: Readout, inputs: int | None = None) -> None:
        self.circuit, self.readout = circuit, readout
        self._rng = np.random.default_rng(readout.seed)
        self._observables = None
        self._per_input = bool(readout.noise and readout.shots and inputs is not None and inputs < circuit.dim)
        if readout.noise and not self._per_input:
            wanted = basis_projectors(circuit) if readout.shots else z_observables(circuit)
            self._observables = heisenberg(circuit, wanted, readout.noise)

    def distribution(self, angles: torch.Tensor) -> np.ndarray:
        """(batch, n) angles -> (batch, 2^n) float64 probability of each basis state at the end, noisy or not."""
        if self._per_input:  # a few density matrices at a time: each is 4^n complex numbers
            return np.concatenate(
                [
                    evolve(self.circuit, self.circuit.encoded_states(part), self.readout.noise)
                    .diagonal(dim1=-2, dim2=-1)
                    .real.double()
                    .numpy()
                    for part in angles.split(DENSITY_CHUNK)
                ]
            )
        if self._observables is not None and self.readout.shots:  # the pulled-back basis projectors
            return quadratic(self._observables, self.circuit.encoded_states(angles)).double().numpy()
        if self.readout.noise:
            raise ValueError("without shots only the noisy <Z> were pulled back, not the whole distribution")
        return probabilities(self.circuit.final_states(angles))

    def expvals(self, angles: torch.Tensor) -> torch.Tensor:
        """(batch, n) angles -> (batch, n) float32 <Z>, exact, noisy and/or estimated from shots."""
        if self.readout.noise and not self.readout.shots:  # the pulled-back observables are the n <Z> themselves
            values = quadratic(self._observables, self.circuit.encoded_states(angles)).double().numpy()
        elif self.readout.shots:
            values = sample_expvals(self.distribution(angles), self.circuit.z_signs, self.readout.shots, self._rng)
        else:
            values = self.distribution(angles) @ self.circuit.z_signs
        return torch.from_numpy(np.ascontiguousarray(values)).float()


@torch.no_grad()
def head_probabilities(model: HybridNet, classical: np.ndarray | None, expvals: np.ndarray) -> np.ndarray:
    """Class probabilities from (views, c) classical features and (..., views, n) <Z>, as (..., classes): the
    views' logits averaged, then softmax, exactly as the Predictor serves a prediction."""
    device = model.head.weight.device
    lead, views = expvals.shape[:-2], expvals.shape[-2]
    ev = torch.as_tensor(np.asarray(expvals, np.float32)).reshape(-1, expvals.shape[-1])
    cl = (
        None
        if classical is None
        else torch.as_tensor(np.asarray(classical, np.float32)).repeat(int(np.prod(lead, dtype=int)), 1).to(device)
    )
    logits = model.fuse(cl, ev.to(device))[0].float().cpu()
    logits = logits.reshape(*lead, views, -1).mean(-2)
    return torch.softmax(logits, -1).double().numpy()
