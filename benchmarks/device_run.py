"""What "On a real device" costs: routing the served circuit onto a simulated IBM device and running it there.

Per device: the routing's figures (CNOTs and depth before and after, SWAPs, physical qubits; and the free
routing's for comparison) and the first use's cost (routing and noise model, once per model and device). Per
prediction: the view's run (1,000 shots, 5 re-runs) on Digits and on Fashion's mirrored pair, and the simulation
alone at each shot count. For `evaluate --qpu`: test images per second at 1,000 shots. And the simulation choices
the view did not take, on the same circuit: the free routing's 12 qubits as a density matrix, or as trajectories.
Aer runs on one thread throughout (max_parallel_threads=1), as the app and the commands run it.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from benchmarks.timing import summary_ms, time_calls
from qnn_core.data.loaders import load_split
from qnn_core.service import TaskService
from qnn_core.tasks import get_task

TASKS = ("mnist", "fashion")  # fashion averages the image with its mirror image: two circuits a prediction
SHOTS = (100, 1000, 4000)
GOAL_S = 3.0  # the view's run of 1,000 shots at 8 qubits, per prediction
EVAL_GOAL_S = 300.0  # evaluate --qpu: 200 test images at 1,000 shots


def cpu_and_wall(fn) -> tuple[float, float]:
    """(process CPU seconds, wall seconds) of one call: on a shared machine the CPU time is the steadier figure."""
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - w0


def device_run(budget) -> dict:
    from benchmarks.sections import user_files
    from qnn_core.inference import device_noise
    from qnn_core.inference.batch import branch_inputs
    from qnn_core.inference.device_noise import DeviceEstimator

    out: dict = {
        "what": "the served MNIST hybrid's circuit routed onto qiskit's fake backends (calibration snapshots) and "
        "simulated under their noise by qiskit-aer, one thread; wall and CPU time, the machine being shared",
        "devices": {},
        "served": {},
        "goal_s": GOAL_S,
        "eval_goal_s": EVAL_GOAL_S,
        "threads": 1,
    }
    layer = TaskService.get("mnist")._predictor.model.quantum
    for name in budget.device_devices:
        cpu, wall = cpu_and_wall(lambda name=name: device_noise.simulated(layer, name))  # its first use: built
        r = device_noise.simulated(layer, name).routing
        out["devices"][name] = {
            "qubits": r.device.qubits,
            "snapshot": r.device.snapshot,
            "build_cpu_s": round(cpu, 2),
            "build_wall_s": round(wall, 2),
            "cnots": [r.cnots_before, r.cnots_after],
            "depth": [r.depth_before, r.depth_after],
            "swaps": r.swaps,
            "physical_qubits": list(r.physical),
            "free": {"cnots": r.free.cnots, "depth": r.free.depth, "qubits": list(r.free.qubits)},
            "median_cx_error_used": round(r.median_cx_error_used, 5),
        }
    device = budget.device_devices[0]
    for task_name in TASKS:
        service = TaskService.get(task_name)
        results = [service.classify(f) for f in user_files(task_name, 3)]
        service.device_routing(device)  # built once, not timed here
        picks = itertools.cycle(results)
        view = time_calls(lambda: service.device_run(next(picks), device, 1000), budget.device_repeats, warmup=1)
        sim = service._simulated(device)
        angles = results[0].circuit_input.angles
        alone = {
            str(shots): summary_ms(
                time_calls(lambda shots=shots: sim.run(angles, shots, reruns=5), budget.device_repeats, warmup=1)
            )
            for shots in SHOTS
        }
        cpu, _ = cpu_and_wall(lambda: sim.run(angles, 1000, reruns=5))
        out["served"][task_name] = {
            "views": int(angles.shape[0]),
            "view_run": summary_ms(view),
            "simulation": alone,
            "simulation_cpu_ms_1000": round(cpu * 1000, 1),
        }
    model = TaskService.get("mnist", "bottleneck")._predictor.model
    test = load_split(get_task("mnist"), "test").images[: budget.device_images]
    angles = branch_inputs(model, get_task("mnist"), test)[0][0]
    estimator = DeviceEstimator(device_noise.simulated(model.quantum, device), 1000, seed=0)
    cpu, wall = cpu_and_wall(lambda: estimator.expvals(angles))
    out["evaluate"] = {
        "images": len(test),
        "shots": 1000,
        "cpu_s": round(cpu, 1),
        "wall_s": round(wall, 1),
        "per_image_ms": round(wall / len(test) * 1000, 1),
        "projected_200_s": round(wall / len(test) * 200, 1),
    }
    if budget.device_alternatives:
        out["alternatives"] = alternatives(layer, device)
    return out


def alternatives(layer, name: str) -> dict:
    """The free routing (qiskit's transpile onto the whole device) simulated the two ways Aer offers, for one
    input: the density matrix of all the qubits it touches, and 1,000 shots as noisy statevector trajectories."""
    import warnings

    from qiskit import transpile
    from qiskit_aer import AerSimulator

    from qnn_core.inference import device_noise, qiskit_circuit

    backend = device_noise.fake_backend(name)
    circuit = qiskit_circuit.model_circuit(layer, np.linspace(-2, 2, layer.n_qubits))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", device_noise._TRANSPILE_WARNING, PendingDeprecationWarning)
        routed = transpile(circuit, backend, optimization_level=device_noise.OPTIMIZATION_LEVEL, seed_transpiler=0)
    used = sorted({routed.find_bit(q).index for i in routed.data for q in i.qubits})
    noise = device_noise.noise_model(backend, used)
    out = {"qubits": len(used), "cnots": routed.count_ops().get("cx", 0)}
    for method, shots in (("density_matrix", 1000), ("statevector", 1000)):
        sim = AerSimulator(noise_model=noise, method=method, max_parallel_threads=1)
        cpu, wall = cpu_and_wall(lambda sim=sim, shots=shots: sim.run(routed, shots=shots, seed_simulator=0).result())
        out[method] = {"shots": shots, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2)}
    return out
