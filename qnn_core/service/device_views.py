"""The "On a real device" view of one prediction, and the circuit exported as OpenQASM.

A simulation from a calibration snapshot, not a run on hardware (inference/device_noise.py says how). Like the
other quantum views, only the circuit and the head are re-run: the classical features stay those of the
prediction. For a task that averages the image with its mirror image both circuits run on the device and the
head averages them, as the prediction does; the exported circuit is the image as given.

Qiskit is imported inside these functions (the first call costs a second or so), never when the service is
imported: the app's start-up does not pay for it.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from qnn_core.inference.quantum_readout import CircuitInput, head_probabilities
from qnn_core.inference.quantum_state import Circuit
from qnn_core.models.hybrid import HybridNet
from qnn_core.service import quantum_views
from qnn_core.service.quantum_views import ShotEstimate
from qnn_core.tasks import TaskSpec

if TYPE_CHECKING:  # the types only: importing device_noise imports Qiskit
    from qnn_core.inference.device_noise import SimulatedDevice

DEVICE_SHOTS = (100, 1000, 4000)  # what the view offers
RERUNS = 5  # re-runs of each device run: how often the label flips


@dataclass(frozen=True)
class DeviceRun:
    """The prediction with <Z> from `shots` noisy shots on a simulated device, `reruns` times, beside the exact
    prediction and the ideal (noise-free) shots of the same count."""

    device: str
    shots: int
    seed: int
    expvals: np.ndarray  # (reruns, n) the device's <Z> in each re-run (the views' mean)
    probs: np.ndarray  # (reruns, classes) the head's probabilities with them
    labels: tuple[str, ...]  # the label of each re-run
    exact_expvals: np.ndarray  # (n,)
    exact_probs: np.ndarray  # (classes,)
    exact_label: str
    ideal: ShotEstimate  # `shots` ideal shots, re-sampled as often: what the shots alone cost
    seconds: float  # the simulation's wall time, all re-runs and views together

    @property
    def reruns(self) -> int:
        return len(self.labels)

    @property
    def label(self) -> str:
        """The first re-run's label: what one run on the device would have answered."""
        return self.labels[0]

    @property
    def flips(self) -> int:
        """Re-runs whose label differs from the exact circuit's."""
        return sum(label != self.exact_label for label in self.labels)

    @property
    def label_counts(self) -> tuple[tuple[str, int], ...]:
        return tuple(Counter(self.labels).most_common())


def run_on_device(
    device: SimulatedDevice,
    circuit: Circuit,
    model: HybridNet,
    task: TaskSpec,
    inputs: CircuitInput,
    shots: int,
    reruns: int = RERUNS,
    seed: int = 0,
) -> DeviceRun:
    t0 = time.perf_counter()
    noisy = device.run(inputs.angles, shots, seed=seed, reruns=reruns)  # (reruns, views, n)
    seconds = time.perf_counter() - t0
    exact = quantum_views.exact_expvals(circuit, inputs)
    exact_probs = head_probabilities(model, inputs.classical, exact)
    probs = head_probabilities(model, inputs.classical, noisy)
    ideal = quantum_views.shot_estimate(circuit, model, task, inputs, shots, reruns, seed)
    return DeviceRun(
        device.device.name,
        shots,
        seed,
        noisy.mean(1),
        probs,
        tuple(task.label(int(i)) for i in probs.argmax(1)),
        exact.mean(0),
        exact_probs,
        task.label(int(np.argmax(exact_probs))),
        ideal,
        seconds,
    )


def qasm(
    circuit: Circuit,
    task: TaskSpec,
    model_kind: str,
    checkpoint: str,
    inputs: CircuitInput,
    source: str,
    version: int,
) -> str:
    """The circuit of the image as given (the first view), as OpenQASM `version`, with the header that names it."""
    from qnn_core.inference import qiskit_circuit

    angles = inputs.angles[0]
    expected = exact_expvals_as_given(circuit, inputs)
    header = qiskit_circuit.export_header(
        task.name, task.title, model_kind, checkpoint, source, expected, inputs.views > 1, version
    )
    return qiskit_circuit.to_qasm(qiskit_circuit.model_circuit(circuit.layer, angles), version, header)


def exact_expvals_as_given(circuit: Circuit, inputs: CircuitInput) -> np.ndarray:
    """(n,) exact <Z> of the image as given (not the mirrored pair's mean), float64."""
    return quantum_views.exact_expvals(circuit, CircuitInput(inputs.angles[:1], None))[0]


def layer_expvals(layer, angles: np.ndarray) -> np.ndarray:
    """(n,) exact <Z> of one input straight from the served layer (what `predict` reports), float64."""
    device = layer.rx[0].params.device
    with torch.no_grad():
        return layer(torch.as_tensor(np.asarray(angles)[None], device=device).float())[0].double().cpu().numpy()
