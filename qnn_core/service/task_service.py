"""TaskService: everything a page asks of one task's served model, safe to call from many sessions at once.

Streamlit runs each browser session in its own thread, and one loaded model serves them all. So nothing
here changes a model after loading: the quantum switch is an argument of each call, Grad-CAM hooks a
per-call view (inference/explain.py), the quantum views read the circuit's matrices built once in the
constructor and seed their own random draws per call, and the only shared mutable state, the service cache
and the line-analysis cache, is guarded by locks.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from qnn_core import jobs
from qnn_core.devices import resolve, serving_spec
from qnn_core.evaluation import committed
from qnn_core.inference.explain import gradcam, model_input_image, overlay
from qnn_core.inference.ood import imagenet_head
from qnn_core.inference.predict import Prediction, Predictor
from qnn_core.inference.quantum_noise import NOISE_MAX_QUBITS
from qnn_core.inference.quantum_readout import CircuitInput
from qnn_core.inference.quantum_state import Circuit
from qnn_core.preprocess.image import Prepared, prepare
from qnn_core.sequence.reader import CharReading, LineAnalysis, LineReading, analyse_line, decide
from qnn_core.sequence.words import EDICT_NOTICE, task_dictionary
from qnn_core.service import quantum_views
from qnn_core.service.quantum_views import NoiseEffect, QuantumState, ShotEstimate
from qnn_core.service.results import TaskResults, task_results
from qnn_core.service.verdict import Verdict, verdict
from qnn_core.tasks import TaskSpec, get_task

if TYPE_CHECKING:  # importing device_noise imports Qiskit: the service does it on a device view's first use
    from qnn_core.inference.device_noise import Routing, SimulatedDevice
    from qnn_core.inference.fake_devices import FakeDevice
    from qnn_core.service.device_views import DeviceRun

LINE_CACHE_SIZE = 16  # line analyses kept per task: picking a character to explain must not re-read the line
# Loaded models kept for the whole server, least recently used first out: every task's shipped models plus the job
# models visitors chose. Measured (benchmarks/RESULTS.md, "A class on one server"): one more digits-sized model
# costs a few MB and one more animals-sized one about 20 MB (a task's first model more: its examples' data and
# imports), so 16 stay well under 0.5 GB whatever thirty visitors choose. $QNN_MODEL_CACHE changes it.
MODEL_CACHE_SIZE = 16


@dataclass(frozen=True)
class Classification:
    """One input's prediction as a page shows it."""

    label: str
    index: int
    probs: np.ndarray  # as served with the switch as asked
    top: list[tuple[str, float]]
    quantum: bool  # whether the quantum branch was on
    probs_quantum_on: np.ndarray  # the same input with the branch on, for comparison (== probs when on)
    expvals: np.ndarray | None  # the qubits' <Z> (None for a classical-only model)
    verdict: Verdict
    prepared: Prepared  # the model's input and how it maps back onto the user's image
    circuit_input: CircuitInput | None = None  # what the head and the circuit got, for the quantum view


@dataclass(frozen=True)
class Explanation:
    heat: np.ndarray  # Grad-CAM on the model input, (H, W) in [0, 1]
    overlay: Image.Image  # the heat over the user's own image
    model_input: Image.Image  # what the model sees, enlarged


@dataclass(frozen=True)
class Serving:
    checkpoint: Path
    job_id: int | None  # the training job whose model is served, or None for the shipped one
    hybrid: bool
    device: str  # where the served model runs ($QNN_DEVICE)


class TaskService:
    """One task's served model; get one with `TaskService.get(name)`, which caches it for the whole server."""

    _cache: OrderedDict[tuple[str, str, str, int], TaskService] = OrderedDict()
    _cache_lock = threading.Lock()

    def __init__(
        self,
        task: TaskSpec | str,
        checkpoint: str | Path | None = None,
        job_id: int | None = None,
        device: str | None = None,
    ) -> None:
        self.task = get_task(task) if isinstance(task, str) else task
        where = resolve(device or serving_spec())
        self._predictor = Predictor(self.task, checkpoint, device=where)
        self._serving = Serving(self._predictor.checkpoint, job_id, self._predictor.model_is_hybrid, str(where))
        if "animal_share_below" in self._predictor.meta:  # built once here, not by two first callers at once
            imagenet_head(self._predictor.model.backbone.cut, str(where))
        # The circuit as matrices, read once here (one thread), then only read by the quantum views; each layer's
        # own unitary too where the noise view is offered, so that its first call costs what the others do.
        self._circuit = Circuit(self._predictor.model.quantum) if self._serving.hybrid else None
        if self.offers_noise:
            self._circuit.layer_unitaries()
        self._lines: OrderedDict[str, LineAnalysis] = OrderedDict()
        self._lines_lock = threading.Lock()

    @classmethod
    def get(cls, task_name: str, model: str = "hybrid", visitor: str | None = None) -> TaskService:
        """The service for the model a task serves `visitor` now: the shipped hybrid, the job model the visitor
        chose on Training, or the one the teacher serves to everyone (`model="hybrid"`); or the task's shipped
        model of another kind (`"bottleneck"`, ...). `visitor=None` gets what everyone gets.

        Keyed by checkpoint file and its modification time, so choosing another model, or reverting, is seen by
        the next call, and a rewritten checkpoint is reloaded. Services are shared by every visitor who is served
        the same checkpoint, and at most `model_cache_size()` stay loaded, least recently used first out (a
        session still holding an evicted one keeps using it until its next call).
        """
        task = get_task(task_name)
        job_id = None
        if model == "hybrid":
            chosen = jobs.served(task.name, visitor=visitor)
            path, job_id = Path(chosen.checkpoint), chosen.job_id
        else:
            path = task.model_checkpoint(model)
        key = (task.name, model, str(path), path.stat().st_mtime_ns if path.is_file() else 0)
        with cls._cache_lock:
            service = cls._cache.get(key)
            if service is not None:
                cls._cache.move_to_end(key)
                return service
        # Loading takes a while: outside the lock, so that other sessions' models are served meanwhile. Two first
        # callers of one checkpoint may both load it; the first one stored is kept.
        service = cls(task, path, job_id)
        with cls._cache_lock:
            service = cls._cache.setdefault(key, service)
            cls._cache.move_to_end(key)
            while len(cls._cache) > model_cache_size():
                cls._cache.popitem(last=False)
            return service

    @classmethod
    def cached(cls) -> int:
        """How many services are loaded now."""
        with cls._cache_lock:
            return len(cls._cache)

    @staticmethod
    def offered_models(task_name: str) -> tuple[str, ...]:
        """The kinds of model a page can offer for a task: the hybrid, and the quantum bottleneck where it ships."""
        task = get_task(task_name)
        return ("hybrid",) + tuple(
            m for m in ("bottleneck",) if m in task.models and task.model_checkpoint(m).is_file()
        )

    def bottleneck_line(self) -> str | None:
        """For a bottleneck model: its test accuracy with the qubits on and off, and its matched twin's."""
        if not self._predictor.model.bottleneck:
            return None
        on, twin = (
            committed.load_result(self.task, "bottleneck"),
            committed.load_result(self.task, "bottleneck-twin"),
        )
        if not on:
            return None
        text = (
            f"On the {on['n']:,} test images this model reads **{on['accuracy']:.2%}** with its qubits on and "
            f"**{on['accuracy_quantum_off']:.2%}** with them off (chance is {1 / self.task.num_classes:.0%}): "
            "its head reads nothing but the qubits."
        )
        if twin:
            text += (
                f" Its classical twin, the circuit replaced by a layer with the same "
                f"{2 * self.n_qubits * self.q_depth} parameters, reads {twin['accuracy']:.2%}."
            )
        return text

    # -- one character or one photo -------------------------------------------------------------------------

    def classify(self, source, quantum: bool = True, k: int = 5) -> Classification:
        """Label, probabilities, top-k, the unsure verdict and the qubits' <Z> for a file, bytes or PIL image.

        Raises ImageInputError (EmptyImageError for an empty canvas) for input that cannot be used.
        """
        prepared = source if isinstance(source, Prepared) else prepare(source, self.task)
        quantum = quantum and self.is_hybrid
        k = min(k, self.task.num_classes)
        on, *off = self._predictor.predict_switched(prepared, (True,) if quantum else (True, False), k)
        return self._classification(off[0] if off else on, on)

    def explain(self, result: Classification, image_weight: float = 0.55) -> Explanation:
        """Grad-CAM of the shown class, with the quantum branch as it was for the prediction, on the user's image."""
        return self._explanation(result.prepared, result.index, result.quantum, image_weight)

    # -- the quantum view of one prediction ---------------------------------------------------------------------

    def quantum_state(self, result: Classification) -> QuantumState | None:
        """The register after the encoding and at the end: basis-state probabilities, Bloch vectors, purity and
        entropy per qubit. None for a classical-only model, which has no circuit."""
        return quantum_views.quantum_state(self._circuit, result.circuit_input) if self._has_circuit(result) else None

    def shots(self, result: Classification, shots: int, resamples: int = 20, seed: int = 0) -> ShotEstimate:
        """The prediction with <Z> estimated from `shots` measurements (0: exact), `resamples` times, seeded."""
        self._require_circuit(result)
        return quantum_views.shot_estimate(
            self._circuit, self._predictor.model, self.task, result.circuit_input, shots, resamples, seed
        )

    def noise(self, result: Classification, p: float) -> NoiseEffect:
        """The prediction with the circuit under depolarizing noise p per gate layer (up to `noise_max_qubits`)."""
        self._require_circuit(result)
        return quantum_views.noise_effect(self._circuit, self._predictor.model, self.task, result.circuit_input, p)

    @property
    def noise_max_qubits(self) -> int:
        """The largest circuit whose noise view stays within its time budget."""
        return NOISE_MAX_QUBITS

    @property
    def offers_noise(self) -> bool:
        return self.is_hybrid and self.n_qubits <= NOISE_MAX_QUBITS

    # -- the circuit on a simulated real device, and exported ---------------------------------------------------

    # The device modules load on a device view's first use, not with the service: most visitors never open one.

    def devices(self) -> tuple[FakeDevice, ...]:
        """The simulated devices offered for this model's circuit: none for a classical-only model, and never one
        with fewer qubits than the circuit."""
        from qnn_core.inference import fake_devices

        return fake_devices.offered(self.n_qubits) if self.is_hybrid else ()

    def device_routing(self, device: str) -> Routing:
        """Where the circuit lands on `device` (qiskit's backend name), what the routing cost, the calibration
        there. The same for every input; built on first use (a few seconds), then cached."""
        return self._simulated(device).routing

    def device_run(
        self, result: Classification, device: str, shots: int = 1000, reruns: int | None = None, seed: int = 0
    ) -> DeviceRun:
        """The prediction with <Z> from `shots` shots on the simulated device, `reruns` times (seeded; default
        device_views.RERUNS), beside the exact and the ideal-shots ones."""
        from qnn_core.service import device_views

        self._require_circuit(result)
        reruns = device_views.RERUNS if reruns is None else reruns
        return device_views.run_on_device(
            self._simulated(device),
            self._circuit,
            self._predictor.model,
            self.task,
            result.circuit_input,
            shots,
            reruns,
            seed,
        )

    def qasm(self, result: Classification, version: int = 2, source: str = "an image in the app") -> str:
        """This input's circuit (the image as given) as OpenQASM 2 or 3, headed by what it is and its exact <Z>."""
        from qnn_core.service import device_views

        self._require_circuit(result)
        kind = "quantum-bottleneck" if self.is_bottleneck else "hybrid"
        return device_views.qasm(
            self._circuit, self.task, kind, self._serving.checkpoint.name, result.circuit_input, source, version
        )

    def _simulated(self, name: str) -> SimulatedDevice:
        """The circuit routed onto `name`, built once per model and device (device_noise.simulated), then read."""
        if not self.is_hybrid:
            raise ValueError("this model is classical-only: it has no quantum circuit to run on a device")
        from qnn_core.inference.device_noise import simulated  # imports Qiskit: a device view's first use

        return simulated(self._predictor.model.quantum, name)

    # -- a whole line -----------------------------------------------------------------------------------------

    def read_line(self, source, expect: int | None = None, use_dictionary: bool = True) -> LineReading:
        """A phone number or a word: segmented, classified and decided (see sequence/reader.py).

        The segmentation and classification of an image are cached (by its bytes), so reading the same line
        again, say to explain another character, costs only the decision.
        """
        image = source if isinstance(source, Image.Image) else None
        data = np.asarray(image).tobytes() if image is not None else (source if isinstance(source, bytes) else None)
        key = hashlib.sha256(data).hexdigest() if data is not None else None
        analysis = None
        if key is not None:
            with self._lines_lock:
                analysis = self._lines.get(key)
                if analysis is not None:
                    self._lines.move_to_end(key)
        if analysis is None:
            analysis = analyse_line(self._predictor, source)
            if key is not None:
                with self._lines_lock:
                    self._lines[key] = analysis
                    while len(self._lines) > LINE_CACHE_SIZE:
                        self._lines.popitem(last=False)
        return decide(analysis, expect, use_dictionary=use_dictionary)

    def explain_char(self, char: CharReading, image_weight: float = 0.55) -> Explanation:
        """Grad-CAM of one character of a line reading, on the user's whole image."""
        return self._explanation(char.prepared, char.index, True, image_weight)

    @property
    def dictionary_notice(self) -> str | None:
        """The acknowledgement a page must show beside dictionary words (EDICT's licence), or None."""
        return EDICT_NOTICE if self.task.words else None

    # -- what the pages show around the model ---------------------------------------------------------------

    def examples(self, per_class: int = 1, seed: int = 0) -> list[tuple[np.ndarray, int]]:
        """A few official test images (one per class by default), or [] when the data set is not installed."""
        return list(_examples(self.task.name, per_class, seed))

    def example_line(self, expect: int | None, length: int, seed: int) -> tuple[bytes, str]:
        """A line image composed from test images, and its text; FileNotFoundError without the data set."""
        return _example_line(self.task.name, expect, length, seed)

    def results(self) -> TaskResults:
        return task_results(self.task.name)

    def circuit(self) -> go.Figure | None:
        """The served model's circuit with its learned angles, or None for a classical-only model."""
        from qnn_core.models.diagram import circuit_figure  # only the pages that draw the circuit need it

        return circuit_figure(self._predictor.model.quantum) if self.is_hybrid else None

    def serving(self) -> Serving:
        return self._serving

    @property
    def is_hybrid(self) -> bool:
        return self._serving.hybrid

    @property
    def is_bottleneck(self) -> bool:
        """The head reads the qubits' <Z> alone (no classical features beside them)."""
        return bool(self._predictor.model.bottleneck)

    @property
    def n_qubits(self) -> int:
        return self._predictor.model.config.n_qubits if self.is_hybrid else 0

    @property
    def q_depth(self) -> int:
        return self._predictor.model.config.q_depth if self.is_hybrid else 0

    # -- internals --------------------------------------------------------------------------------------------

    def _classification(self, pred: Prediction, on: Prediction) -> Classification:
        return Classification(
            pred.label,
            pred.index,
            pred.probs,
            pred.top,
            pred.quantum,
            on.probs,
            pred.expvals,
            verdict(self._predictor, pred),
            pred.prepared,
            pred.circuit_input,
        )

    def _has_circuit(self, result: Classification) -> bool:
        return self._circuit is not None and result.circuit_input is not None

    def _require_circuit(self, result: Classification) -> None:
        if not self._has_circuit(result):
            raise ValueError("this model is classical-only: it has no quantum circuit to measure")

    def _explanation(self, prepared: Prepared, index: int, quantum: bool, image_weight: float) -> Explanation:
        heat = gradcam(self._predictor.model, prepared, index, quantum=quantum and self.is_hybrid)
        scale = 8 if self.task.input.size <= 32 else 1
        return Explanation(heat, overlay(prepared, heat, image_weight), model_input_image(prepared, scale))


def model_cache_size() -> int:
    """$QNN_MODEL_CACHE, else MODEL_CACHE_SIZE: how many loaded models the server keeps."""
    try:
        return max(1, int(os.environ["QNN_MODEL_CACHE"]))
    except (KeyError, ValueError):
        return MODEL_CACHE_SIZE


@lru_cache(maxsize=16)
def _examples(task_name: str, per_class: int, seed: int) -> tuple[tuple[np.ndarray, int], ...]:
    from qnn_core.data.loaders import load_split  # the data layer only when a page shows examples

    task = get_task(task_name)
    try:
        test = load_split(task, "test")
    except FileNotFoundError:
        return ()
    rng = np.random.default_rng(seed)
    picks = []
    for c in range(task.num_classes):
        idx = rng.choice(np.flatnonzero(test.labels == c), per_class, replace=False)
        picks += [(test.images[i], c) for i in idx]
    return tuple(picks)


@lru_cache(maxsize=32)
def _example_line(task_name: str, expect: int | None, length: int, seed: int) -> tuple[bytes, str]:
    """A word of the task's list, else `expect` (or `length`) random characters, written with test images."""
    from qnn_core.data.compose import compose_line, line_style, spell
    from qnn_core.data.loaders import load_split

    task = get_task(task_name)
    test = load_split(task, "test")
    rng = np.random.default_rng(seed)
    if task.words and expect is None:
        # common words of up to five kana: an example a learner knows (EDICT has many long, rare readings)
        words = task_dictionary(task.words, task.classes).words
        words = [w for w in words if w.common and len(w.kana) <= 5] or words
        text = words[int(rng.integers(len(words)))].kana
    else:
        text = "".join(task.classes[int(c)] for c in rng.integers(0, task.num_classes, expect or length))
    labels, small = spell(text, task.classes)
    cells = [test.images[rng.choice(np.flatnonzero(test.labels == c))] for c in labels]
    style = line_style(task)
    return compose_line(cells, labels, rng, style, small=small).image, text
