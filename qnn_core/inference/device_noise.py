"""The model's circuit on a simulated real device: routed onto its qubits, run under its calibrated noise.

A simulation from a calibration snapshot, never a run on hardware: qiskit's fake backends carry what IBM
published for a device on one day (coupling map, basis gates, each gate's error and duration, each qubit's T1,
T2 and readout error), and qiskit-aer simulates a circuit under the noise model built from them.

How, and why so:

1. **Layout.** qiskit's `DenseLayout` picks the n best-connected physical qubits (it weighs the snapshot's CNOT
   and readout errors), and the routing is **confined to them**. Left free, the transpiler spreads the 8-qubit
   circuit over 12 physical qubits of a heavy-hex chip (its CNOT ring fits none of the chip's 12-qubit rings
   without ancillas), and the noisy state of 12 qubits is a 4096 x 4096 density matrix: about 90 s a run
   here, or 30 s for 1,000 shots as trajectories. Confined to 8, the density matrix is 256 x 256 and a run takes
   about 0.1 s; the price is more SWAPs (about 75 CNOTs instead of 60). `Routing.free` keeps the free routing's
   figures beside the confined one, and the view shows both.
2. **Routing.** `transpile` at optimization level 3 onto the coupling map reduced to those qubits, in the
   device's basis gates, seeded (seed_transpiler 0..3, the fewest CNOTs kept), with parameters x[w] in place of
   the encoding angles: routing depends only on the circuit's shape, so it is done once per device and model,
   and each input only binds its 8 angles.
3. **Noise.** qiskit-aer's `NoiseModel.from_backend_properties` on the snapshot's properties restricted to those
   qubits (what `NoiseModel.from_backend` builds for them, without building it for the other 19 or 119): each
   gate a depolarizing error followed by thermal relaxation over the gate's duration, readout errors on every
   measurement. As with `AerSimulator.from_backend`, the circuit is not scheduled, so qubits waiting idle do not
   decay: the model is, if anything, kind to the device.
4. **Simulation.** Aer's density-matrix method on one thread (`max_parallel_threads=1`: Aer would otherwise take
   every core, and a page must never block other sessions), seeded (`seed_simulator`). The shots are sampled
   from the final density matrix, so more shots and re-runs cost next to nothing.

Importing this module imports Qiskit and qiskit-aer; the service and the CLIs import it inside the functions
that need it.
"""

from __future__ import annotations

import statistics
import threading
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from qnn_core.inference import qiskit_circuit
from qnn_core.inference.fake_devices import BY_NAME, FakeDevice
from qnn_core.models.quantum import QuantumLayer

with warnings.catch_warnings():
    # The two warnings these imports raise in qiskit 0.45 / qiskit-aer 0.12, by name: nothing else is silenced.
    warnings.filterwarnings(
        "ignore", r"The qiskit\.extensions module is pending deprecation", PendingDeprecationWarning
    )
    warnings.filterwarnings("ignore", r".*qiskit\.utils\.algorithm_globals", DeprecationWarning)
    from qiskit import QuantumCircuit, transpile
    from qiskit.converters import circuit_to_dag
    from qiskit.providers import fake_provider
    from qiskit.providers.models import BackendProperties
    from qiskit.transpiler import CouplingMap
    from qiskit.transpiler.passes import DenseLayout
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel

OPTIMIZATION_LEVEL = 3
TRANSPILE_SEEDS = (0, 1, 2, 3)  # the routing with the fewest CNOTs (then the lowest depth) among these is kept
CHUNK = 64  # circuits per Aer call when many inputs run at once (evaluate)
# What qiskit 0.45's own level-3 pass manager says about itself on every transpile, by name: nothing else is silenced.
_TRANSPILE_WARNING = r"Building a flow controller with keyword arguments is going to be deprecated"
# The first transpile loads the installed transpiler plugins, qiskit-ibm-provider's among them, whose import warns
# that setuptools' pkg_resources is deprecated (UserWarning, on the CLI's stderr): silenced by that message only.
_PLUGIN_WARNING = r"pkg_resources is deprecated as an API"


class QpuError(ValueError):
    """An unknown device name, or one with too few qubits for the circuit: the caller's mistake, one line."""


def fake_backend(name: str):
    """qiskit's fake backend (BackendV1) of that name: one of the short list, or any other of qiskit's."""
    known = BY_NAME.get(name)
    if known is not None:
        return getattr(fake_provider, known.qiskit_class)()
    try:
        return fake_provider.FakeProvider().get_backend(name)
    except Exception:  # QiskitBackendNotFoundError
        raise QpuError(
            f"unknown device {name!r}: one of {', '.join(BY_NAME)} (or another of qiskit's fake backends)"
        ) from None


def describe(name: str, backend=None) -> FakeDevice:
    """The FakeDevice for a name: from the short list, else read from qiskit's snapshot."""
    if name in BY_NAME:
        return BY_NAME[name]
    backend = backend or fake_backend(name)
    conf, props = backend.configuration(), backend.properties()
    family = getattr(conf, "processor_type", None) or {}
    processor = f"{family.get('family', '?')} r{family.get('revision', '?')}" if family else "unknown processor"
    return FakeDevice(name, conf.n_qubits, processor, str(props.last_update_date.date()), type(backend).__name__, "?")


def check_fits(name: str, n_qubits: int) -> FakeDevice:
    """The device, if it has at least n_qubits qubits; QpuError (one line) otherwise."""
    device = describe(name)
    if device.qubits < n_qubits:
        raise QpuError(f"{name} has {device.qubits} qubits; this model's circuit needs {n_qubits}")
    return device


@dataclass(frozen=True)
class QubitCalibration:
    """One physical qubit the circuit occupies, as the snapshot calibrated it."""

    physical: int
    wire: int | None  # the model's wire placed there at the start (None: used only to pass states along)
    readout_error: float
    t1_us: float
    t2_us: float
    sx_error: float  # the error of its sqrt(X) gate, the physical single-qubit gate (rz is virtual, free)


@dataclass(frozen=True)
class FreeRouting:
    """The same circuit routed with nothing confined (the whole device), for comparison."""

    cnots: int
    depth: int
    qubits: tuple[int, ...]


@dataclass(frozen=True)
class Routing:
    """Where the circuit landed on a device and what the routing cost, with the calibration there."""

    device: FakeDevice
    n_qubits: int
    edges: tuple[tuple[int, int], ...]  # the device's couplers, undirected, each once
    coordinates: tuple[tuple[float, float], ...]  # (x, y) of each physical qubit, as qiskit draws the device
    physical: tuple[int, ...]  # the physical qubits the routing was confined to
    initial: tuple[int, ...]  # wire w starts on physical qubit initial[w]
    final: tuple[int, ...]  # ... and is measured on final[w]
    swaps: int  # SWAPs the router inserted (3 CNOTs each before the optimisation that follows)
    swap_edges: tuple[tuple[int, int, int], ...]  # (a, b, how many SWAPs on that coupler)
    cnot_edges: tuple[tuple[int, int, int], ...]  # (a, b, how many CNOTs the routed circuit runs there)
    cnots_before: int
    depth_before: int
    cnots_after: int
    depth_after: int
    free: FreeRouting
    drawing: str  # the routed circuit, qiskit's text drawer, encoding angles as x[w]
    qubits: tuple[QubitCalibration, ...]
    median_cx_error: float  # over all the device's couplers
    median_cx_error_used: float  # over the couplers the routed circuit uses
    median_readout_error: float  # over all the device's qubits
    median_t1_us: float  # over all the device's qubits
    median_t2_us: float
    optimization_level: int
    seed_transpiler: int


class SimulatedDevice:
    """One model's circuit routed onto one device, with the noise model; `run` gives <Z> from noisy shots.

    Built once per model and device (a second or two), then only read: `run` makes its own simulator each call,
    so threads may share one instance.
    """

    def __init__(self, layer: QuantumLayer, name: str) -> None:
        self.device = check_fits(name, layer.n_qubits)
        backend = fake_backend(name)
        conf, props = backend.configuration(), backend.properties()
        self.n = layer.n_qubits
        logical = qiskit_circuit.model_circuit(layer, None)
        coupling = CouplingMap(conf.coupling_map)
        physical = _dense_qubits(coupling, props, self.n)
        reduced = coupling.reduce(physical)
        local, swaps, swap_pairs, seed = _best_routing(logical, reduced, conf.basis_gates)
        self.routed = local  # on the reduced map's qubits 0..n-1 (physical[i] is local qubit i)
        self.physical = tuple(physical)
        self.circuit = QuantumCircuit(conf.n_qubits, self.n, name=logical.name)  # on the device's own qubit numbers
        self.circuit.compose(local, qubits=physical, clbits=range(self.n), inplace=True)
        self.noise_model = noise_model(backend, physical)
        self.routing = _routing(
            self.device, backend, logical, local, physical, swaps, swap_pairs, seed, self.circuit, coupling, props
        )
        self._params = sorted(self.circuit.parameters, key=lambda p: p.index)  # x[0] ... x[n-1]

    def bind(self, angles: np.ndarray) -> QuantumCircuit:
        return self.circuit.assign_parameters(dict(zip(self._params, map(float, angles))))

    def run(self, angles: np.ndarray, shots: int, seed: int = 0, reruns: int = 1) -> np.ndarray:
        """(B, n) encoding angles -> (reruns, B, n) <Z> from `shots` noisy shots each, `reruns` independent runs.

        One simulation per input: the re-runs are further shots sampled from the same final state (as a device's
        re-runs would be, had its calibration held still)."""
        if shots < 1 or reruns < 1:
            raise ValueError(f"shots and reruns must be at least 1, got {shots} and {reruns}")
        angles = np.asarray(angles, dtype=np.float64).reshape(-1, self.n)
        sim = AerSimulator(noise_model=self.noise_model, method="density_matrix", max_parallel_threads=1)
        out = np.empty((reruns, len(angles), self.n))
        for start in range(0, len(angles), CHUNK):
            part = angles[start : start + CHUNK]
            result = sim.run(
                [self.bind(a) for a in part], shots=shots * reruns, seed_simulator=seed + start, memory=reruns > 1
            ).result()
            for i in range(len(part)):
                if reruns > 1:
                    out[:, start + i] = qiskit_circuit.memory_expvals(result.get_memory(i), self.n, reruns)
                else:
                    out[0, start + i] = qiskit_circuit.counts_expvals(result.get_counts(i), self.n)
        return out


def noise_model(backend, qubits) -> NoiseModel:
    """qiskit-aer's noise model of the backend's snapshot for the gates on `qubits` alone (readout errors for all):
    on those qubits, exactly what `NoiseModel.from_backend` builds, without building it for the rest."""
    restricted = backend.properties().to_dict()
    restricted["gates"] = [g for g in restricted["gates"] if set(g["qubits"]) <= set(qubits)]
    return NoiseModel.from_backend_properties(BackendProperties.from_dict(restricted), dt=backend.configuration().dt)


_BUILT: dict[tuple, SimulatedDevice] = {}
_BUILT_LOCK = threading.Lock()
BUILT_KEPT = 16  # routed circuits kept per process (a few kB each, and a noise model)


def simulated(layer: QuantumLayer, name: str) -> SimulatedDevice:
    """The layer's circuit on device `name`, built on first use and kept: keyed by the circuit's shape and its
    trained angles, so every caller with the same model shares one routing (and a retrained model gets its own)."""
    key = (name, layer.n_qubits, layer.depth, tuple(layer.ring()), qiskit_circuit.trained_angles(layer).tobytes())
    device = _BUILT.get(key)  # built already: no waiting on another device's build
    if device is not None:
        return device
    with _BUILT_LOCK:  # one build at a time: a few seconds, once per model and device
        device = _BUILT.get(key)
        if device is None:
            device = _BUILT[key] = SimulatedDevice(layer, name)
            while len(_BUILT) > BUILT_KEPT:
                del _BUILT[next(iter(_BUILT))]
        return device


class DeviceEstimator:
    """<Z> of many inputs from `shots` shots each on a simulated device, for `evaluate --qpu` and `qnn curves`:
    the `expvals` of a quantum_readout.BatchReadout. Each call's inputs get their own simulator seeds, following
    on from the previous call's, so a whole evaluation is reproducible from `seed`. Not shared between threads."""

    def __init__(self, device: SimulatedDevice, shots: int, seed: int = 0) -> None:
        if shots < 1:
            raise ValueError(f"a device gives shots: expected at least 1, got {shots}")
        self.device, self.shots, self._next_seed = device, shots, seed

    def expvals(self, angles) -> torch.Tensor:
        """(batch, n) angles (a tensor or an array) -> (batch, n) float32 <Z> from the device's shots."""
        values = np.asarray(angles.cpu() if isinstance(angles, torch.Tensor) else angles, dtype=np.float64)
        z = self.device.run(values, self.shots, seed=self._next_seed)[0]
        self._next_seed += len(values)
        return torch.from_numpy(z).float()


def _dense_qubits(coupling: CouplingMap, props: BackendProperties, n: int) -> list[int]:
    """The n physical qubits qiskit's DenseLayout picks: the densest connected group, the least noisy such."""
    dense = DenseLayout(coupling, backend_prop=props)
    dense.run(circuit_to_dag(QuantumCircuit(n)))
    return sorted(dense.property_set["layout"].get_physical_bits())


def _best_routing(
    logical: QuantumCircuit, coupling: CouplingMap, basis: list[str]
) -> tuple[QuantumCircuit, int, list[tuple[int, int]], int]:
    """The routed circuit with the fewest CNOTs (then lowest depth) over TRANSPILE_SEEDS, with its SWAPs."""
    best = None
    for seed in TRANSPILE_SEEDS:
        seen: list = [0, []]  # the most SWAPs any pass saw (routing adds them, translation turns them into CNOTs)

        def count_swaps(pass_, dag, time, property_set, count, seen=seen) -> None:
            ops = dag.op_nodes()
            swaps = [node for node in ops if node.op.name == "swap"]
            if len(swaps) > seen[0]:
                seen[0] = len(swaps)
                seen[1] = [tuple(dag.find_bit(q).index for q in node.qargs) for node in swaps]

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", _TRANSPILE_WARNING, PendingDeprecationWarning)
            warnings.filterwarnings("ignore", _PLUGIN_WARNING, UserWarning)
            routed = transpile(
                logical,
                coupling_map=coupling,
                basis_gates=basis,
                optimization_level=OPTIMIZATION_LEVEL,
                seed_transpiler=seed,
                callback=count_swaps,
            )
        key = (routed.count_ops().get("cx", 0), routed.depth(), seed)
        if best is None or key < best[0]:
            best = (key, routed, seen[0], seen[1], seed)
    return best[1], best[2], best[3], best[4]


def _routing(
    device: FakeDevice,
    backend,
    logical: QuantumCircuit,
    local: QuantumCircuit,
    physical: list[int],
    swaps: int,
    swap_pairs: list[tuple[int, int]],
    seed: int,
    placed: QuantumCircuit,
    coupling: CouplingMap,
    props: BackendProperties,
) -> Routing:
    n = logical.num_qubits
    initial = local.layout.initial_index_layout()[:n]  # virtual wire -> local (reduced-map) qubit
    measured = {local.find_bit(i.clbits[0]).index: local.find_bit(i.qubits[0]).index for i in _measures(local)}
    cnots = Counter(
        tuple(sorted(physical[local.find_bit(q).index] for q in i.qubits))
        for i in local.data
        if i.operation.name == "cx"
    )
    swapped = Counter(tuple(sorted(physical[q] for q in pair)) for pair in swap_pairs)
    edges = tuple(sorted({tuple(sorted(e)) for e in coupling.get_edges()}))
    wire_at = {physical[q]: w for w, q in enumerate(initial)}
    qubits = tuple(
        QubitCalibration(
            p,
            wire_at.get(p),
            float(props.readout_error(p)),
            float(props.t1(p)) * 1e6,
            float(props.t2(p)) * 1e6,
            float(props.gate_error("sx", [p])),
        )
        for p in physical
    )
    cx_errors = {e: _cx_error(props, e) for e in edges}
    everyone = range(backend.configuration().n_qubits)
    used = [cx_errors[e] for e in cnots if e in cx_errors]
    return Routing(
        device=device,
        n_qubits=n,
        edges=edges,
        coordinates=_coordinates(backend),
        physical=tuple(physical),
        initial=tuple(physical[q] for q in initial),
        final=tuple(physical[measured[w]] for w in range(n)),
        swaps=swaps,
        swap_edges=tuple((a, b, k) for (a, b), k in sorted(swapped.items())),
        cnot_edges=tuple((a, b, k) for (a, b), k in sorted(cnots.items())),
        cnots_before=logical.count_ops().get("cx", 0),
        depth_before=logical.depth(),
        cnots_after=local.count_ops().get("cx", 0),
        depth_after=local.depth(),
        free=_free_routing(logical, backend, seed),
        drawing=str(placed.draw("text", idle_wires=False, fold=150)),
        qubits=qubits,
        median_cx_error=statistics.median(cx_errors.values()),
        median_cx_error_used=statistics.median(used) if used else float("nan"),
        median_readout_error=statistics.median(float(props.readout_error(q)) for q in everyone),
        median_t1_us=statistics.median(float(props.t1(q)) * 1e6 for q in everyone),
        median_t2_us=statistics.median(float(props.t2(q)) * 1e6 for q in everyone),
        optimization_level=OPTIMIZATION_LEVEL,
        seed_transpiler=seed,
    )


def _measures(circuit: QuantumCircuit):
    return (i for i in circuit.data if i.operation.name == "measure")


def _cx_error(props: BackendProperties, edge: tuple[int, int]) -> float:
    """A coupler's CNOT error (the snapshot lists each direction; the smaller is the one the transpiler runs)."""
    errors = []
    for pair in (list(edge), list(edge[::-1])):
        try:
            errors.append(float(props.gate_error("cx", pair)))
        except Exception:  # BackendPropertyError: that direction is not calibrated
            pass
    return min(errors) if errors else float("nan")


def _free_routing(logical: QuantumCircuit, backend, seed: int) -> FreeRouting:
    """The same transpile onto the whole device, nothing confined: what a run on the real chip would use."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _TRANSPILE_WARNING, PendingDeprecationWarning)
        warnings.filterwarnings("ignore", _PLUGIN_WARNING, UserWarning)
        routed = transpile(logical, backend, optimization_level=OPTIMIZATION_LEVEL, seed_transpiler=seed)
    used = sorted({routed.find_bit(q).index for i in routed.data for q in i.qubits})
    return FreeRouting(routed.count_ops().get("cx", 0), routed.depth(), tuple(used))


_DRAWING_LOCK = threading.Lock()


def _coordinates(backend) -> tuple[tuple[float, float], ...]:
    """(x, y) per physical qubit as qiskit draws the device (its gate map); a spring layout where it has none.

    qiskit keeps these positions inside `plot_gate_map`; they are read by standing in for the function it hands
    them to (under a lock: the stand-in is module state while it lasts)."""
    from unittest import mock

    import qiskit.visualization.gate_map as gate_map

    n = backend.configuration().n_qubits
    try:
        with _DRAWING_LOCK, mock.patch.object(gate_map, "plot_coupling_map", lambda _n, coords, *a, **k: coords):
            coords = gate_map.plot_gate_map(backend)
    except Exception:  # a qiskit without the picture, or without matplotlib: a spring layout instead
        coords = None
    if coords and len(coords) == n:
        return tuple((float(col), -float(row)) for row, col in coords)  # qiskit gives (row, column), rows downwards
    import rustworkx

    graph = rustworkx.PyGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from_no_data([tuple(e) for e in backend.configuration().coupling_map])
    pos = rustworkx.spring_layout(graph, seed=0)
    return tuple((float(pos[q][0]), float(pos[q][1])) for q in range(n))
