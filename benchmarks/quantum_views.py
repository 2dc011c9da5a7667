"""What the ⚛️ quantum view costs per prediction: the state (with Bloch vectors and entanglement), the shots and
the noise views of the served models; and how the state and noise views grow with the qubits, which is what
sets how large a circuit the noise view is offered for (quantum_noise.NOISE_MAX_QUBITS)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from benchmarks.timing import interleaved, summary_ms, time_calls
from qnn_core.inference import quantum_noise
from qnn_core.inference.quantum_readout import CircuitInput
from qnn_core.inference.quantum_state import Circuit
from qnn_core.models.quantum import QuantumLayer
from qnn_core.service import TaskService
from qnn_core.service.quantum_views import quantum_state
from qnn_core.tasks import get_task

TASKS = ("mnist", "fashion")  # fashion averages the image with its mirror image: two circuit runs a prediction
GOALS_MS = {"state": 30.0, "noise": 300.0}  # per prediction, the budget
NOISE_P, SHOTS, RESAMPLES = 0.05, 100, 20


def served(repeats: int) -> dict:
    """The three service calls on each task's shipped hybrid, timed in turn over a few users' images."""
    from benchmarks.sections import user_files

    out = {}
    for name in TASKS:
        service = TaskService(name)
        results = [service.classify(f) for f in user_files(name, 4)]
        picks = {k: itertools.cycle(results) for k in ("state", "shots", "noise")}
        times = interleaved(
            {
                "state": lambda: service.quantum_state(next(picks["state"])),
                "shots": lambda: service.shots(next(picks["shots"]), SHOTS, resamples=RESAMPLES),
                "noise": lambda: service.noise(next(picks["noise"]), NOISE_P),
            },
            repeats,
        )
        out[name] = {
            "views": 2 if get_task(name).test_time_mirror else 1,
            "qubits": service.n_qubits,
            **{k: summary_ms(v) for k, v in times.items()},
        }
    return out


def random_circuit(n: int, depth: int = 3) -> Circuit:
    torch.manual_seed(n)
    layer = QuantumLayer(n, depth).eval()
    with torch.no_grad():
        for m in [*layer.rx, *layer.ry]:
            m.params.uniform_(-math.pi, math.pi)
    return Circuit(layer)


def scaling(qubits: tuple[int, ...], noise_upto: int, repeats: int) -> list[dict]:
    """State view and noisy density matrix of a random depth-3 circuit of n qubits, for 1 and 2 views."""
    rows = []
    for n in qubits:
        circuit = random_circuit(n)
        row: dict = {"qubits": n}
        for views in (1, 2):
            angles = np.random.default_rng(views).uniform(-3, 3, (views, n)).astype(np.float32)
            inputs = CircuitInput(angles, None)
            row[f"state_{views}"] = summary_ms(time_calls(lambda: quantum_state(circuit, inputs), repeats, warmup=1))
        if n <= noise_upto:
            row["layer_unitaries_s"] = round(min(time_calls(circuit.layer_unitaries, 1, warmup=0)), 3)
            for views in (1, 2):
                encoded = circuit.encoded_states(
                    torch.from_numpy(np.random.default_rng(views).uniform(-3, 3, (views, n)).astype(np.float32))
                )
                slow = max(1, repeats // 4) if n > 9 else repeats  # ~seconds a call at 10 qubits

                def noisy() -> None:
                    quantum_noise.expvals_of(quantum_noise.evolve(circuit, encoded, NOISE_P), circuit)

                row[f"noise_{views}"] = summary_ms(time_calls(noisy, slow, warmup=1))
        rows.append(row)
    return rows


def quantum_views(budget) -> dict:
    quick = budget.latency_repeats < 10
    qubits = (3, 4) if quick else (8, 9, 10, 12)
    rows = scaling(qubits, noise_upto=qubits[-2], repeats=2 if quick else 8)
    within = [r["qubits"] for r in rows if "noise_2" in r and r["noise_2"]["p50_ms"] <= GOALS_MS["noise"]]
    return {
        "what": f"p50 per prediction of the service's quantum views (torch threads as the run; state = basis-state "
        f"probabilities, Bloch vectors, purity and entropy per qubit; shots = {RESAMPLES} re-samplings of "
        f"{SHOTS} shots and the head on each; noise = the density matrix through every layer at p = "
        f"{NOISE_P}), then the state and noise computations alone for random depth-3 circuits of n qubits",
        "goals_ms": GOALS_MS,
        "served": served(max(2, budget.latency_repeats)),
        "scaling": rows,
        "noise_max_qubits": quantum_noise.NOISE_MAX_QUBITS,
        "largest_noise_within_goal": max(within) if within else None,
    }
