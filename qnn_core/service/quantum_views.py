"""What the quantum view shows for one prediction: the state, each qubit, shots and noise, as frozen results.

Each function reads the served model's `Circuit` and the prediction's `CircuitInput` (what the head and the
circuit got), never the model's state, and changes nothing: only the circuit and the head are re-run, so the
classical features stay exactly those of the prediction. Random draws come from a generator made from the
call's own seed, so any thread asking the same question gets the same answer.

For a task that averages the image with its mirror image, the state, Bloch and entanglement views show the
image as given (a state is one circuit run); <Z>, shots and noise follow both, averaged as the prediction is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from qnn_core.inference import quantum_noise
from qnn_core.inference import quantum_state as qs
from qnn_core.inference.quantum_readout import CircuitInput, head_probabilities
from qnn_core.inference.quantum_shots import sample_expvals
from qnn_core.inference.quantum_state import STATE_BARS_MAX_QUBITS, Circuit, StageState
from qnn_core.models.hybrid import HybridNet
from qnn_core.tasks import TaskSpec


@dataclass(frozen=True)
class QuantumState:
    """The register for one input, after the encoding alone and after the whole circuit."""

    n_qubits: int
    encoded: StageState  # after the RY encoding: a product state, every qubit pure, no entanglement
    final: StageState  # after the trainable layers and their CNOT rings: what is measured
    mirrored: bool  # the prediction also averages the mirror image; this is the image as given
    every_state: bool  # 2^n small enough for a bar per basis state; else the view lists the top states only


@dataclass(frozen=True)
class ShotEstimate:
    """The prediction with <Z> estimated from `shots` measurements, re-sampled `resamples` times."""

    shots: int  # 0: the exact values (every re-sampling is the served prediction)
    seed: int
    expvals: np.ndarray  # (resamples, n) the estimated <Z> of each re-sampling (the views' mean)
    exact_expvals: np.ndarray  # (n,)
    probs: np.ndarray  # (resamples, classes) the head's probabilities with each estimate
    exact_probs: np.ndarray  # (classes,)
    labels: tuple[str, ...]  # the predicted label of each re-sampling
    exact_label: str
    exact_index: int

    @property
    def resamples(self) -> int:
        return len(self.labels)

    @property
    def flips(self) -> int:
        """How many re-samplings predict another label than the exact circuit does."""
        return sum(label != self.exact_label for label in self.labels)

    @property
    def flip_rate(self) -> float:
        return self.flips / self.resamples

    @property
    def label_counts(self) -> tuple[tuple[str, int], ...]:
        """Each predicted label and how often, most frequent first."""
        return tuple(Counter(self.labels).most_common())

    @property
    def exact_label_probs(self) -> np.ndarray:
        """The exact prediction's class probability in each re-sampling: its spread is the shot noise's effect."""
        return self.probs[:, self.exact_index]


@dataclass(frozen=True)
class NoiseEffect:
    """The prediction with the circuit run under depolarizing noise p (quantum_noise.py says which channel)."""

    p: float
    expvals: np.ndarray  # (n,) noisy <Z> (the views' mean)
    exact_expvals: np.ndarray  # (n,)
    probs: np.ndarray  # (classes,)
    exact_probs: np.ndarray  # (classes,)
    label: str
    exact_label: str
    purity: float  # Tr rho^2 of the whole register at the end (image as given): 1 pure, 2^-n fully mixed
    qubit_purity: np.ndarray  # (n,) Tr rho^2 of each qubit's reduced state there

    @property
    def changed(self) -> bool:
        return self.label != self.exact_label


def quantum_state(circuit: Circuit, inputs: CircuitInput) -> QuantumState:
    """The state after the encoding and at the end, each qubit's Bloch vector, purity and entropy."""
    angles = torch.from_numpy(inputs.angles[:1])
    n = circuit.n_qubits
    encoded = qs.stage(circuit.encoded_states(angles)[0], n)
    final = qs.stage(circuit.final_states(angles)[0], n)
    return QuantumState(n, encoded, final, inputs.views > 1, n <= STATE_BARS_MAX_QUBITS)


def exact_expvals(circuit: Circuit, inputs: CircuitInput) -> np.ndarray:
    """(views, n) exact <Z> in float64, from the same state vectors the other views show."""
    return qs.probabilities(circuit.final_states(torch.from_numpy(inputs.angles))) @ circuit.z_signs


def shot_estimate(
    circuit: Circuit, model: HybridNet, task: TaskSpec, inputs: CircuitInput, shots: int, resamples: int, seed: int
) -> ShotEstimate:
    if shots < 0 or resamples < 1:
        raise ValueError(f"shots must be 0 (exact) or more and resamples at least 1, got {shots} and {resamples}")
    exact = exact_expvals(circuit, inputs)
    exact_probs = head_probabilities(model, inputs.classical, exact)
    if shots == 0:
        estimated = np.broadcast_to(exact, (resamples, *exact.shape))
    else:
        probs = qs.probabilities(circuit.final_states(torch.from_numpy(inputs.angles)))
        estimated = sample_expvals(probs, circuit.z_signs, shots, np.random.default_rng(seed), resamples)
    probs = head_probabilities(model, inputs.classical, estimated)
    index = int(np.argmax(exact_probs))
    labels = tuple(task.label(int(i)) for i in probs.argmax(1))
    return ShotEstimate(
        shots, seed, estimated.mean(1), exact.mean(0), probs, exact_probs, labels, task.label(index), index
    )


def noise_effect(circuit: Circuit, model: HybridNet, task: TaskSpec, inputs: CircuitInput, p: float) -> NoiseEffect:
    if not 0 <= p <= 1:
        raise ValueError(f"the depolarizing probability must be in [0, 1], got {p}")
    if circuit.n_qubits > quantum_noise.NOISE_MAX_QUBITS:
        raise ValueError(
            f"the noise simulation is offered up to {quantum_noise.NOISE_MAX_QUBITS} qubits; this "
            f"circuit has {circuit.n_qubits}"
        )
    rho = quantum_noise.evolve(circuit, circuit.encoded_states(torch.from_numpy(inputs.angles)), p)
    noisy = quantum_noise.expvals_of(rho, circuit).numpy()
    exact = exact_expvals(circuit, inputs)
    probs, exact_probs = head_probabilities(model, inputs.classical, np.stack([noisy, exact]))
    first = rho[0].numpy().astype(np.complex128)
    purity = float(np.vdot(first, first).real)  # Tr rho^2 = sum |rho_ij|^2 for Hermitian rho
    qubits = qs.purities(qs.reduced_from_density(first, circuit.n_qubits))
    return NoiseEffect(
        p,
        noisy.mean(0),
        exact.mean(0),
        probs,
        exact_probs,
        task.label(int(np.argmax(probs))),
        task.label(int(np.argmax(exact_probs))),
        purity,
        qubits,
    )
