"""The one door the app's pages use: a thread-safe service per task, and the errors a page may show.

service = TaskService.get("mnist")            # cached, shared by every browser session
result = service.classify(image, quantum=True)
overlay = service.explain(result)
state = service.quantum_state(result)          # the quantum view: state, Bloch vectors, entanglement
spread = service.shots(result, 100)            # <Z> from 100 shots, 20 seeded re-samplings
noisy = service.noise(result, 0.05)            # depolarizing noise p per gate layer
run = service.device_run(result, "fake_kolkata", shots=1000)   # a simulated real device (routing, noise)
text = service.qasm(result, version=2)         # this input's circuit as OpenQASM
"""

from qnn_core.inference.quantum_shots import SHOT_CHOICES
from qnn_core.models.checkpoint import CheckpointError
from qnn_core.preprocess.image import UPLOAD_EXTENSIONS, EmptyImageError, ImageInputError
from qnn_core.sequence.reader import LOW_CONFIDENCE, PHONE_DIGITS, SequenceInputError, format_phone
from qnn_core.sequence.words import max_overrule_for
from qnn_core.service.quantum_views import NoiseEffect, QuantumState, ShotEstimate
from qnn_core.service.results import (
    ModelSummary,
    ReadoutCurves,
    TaskResults,
    model_summary,
    readout_curves,
    task_results,
)
from qnn_core.service.task_service import Classification, Explanation, TaskService
from qnn_core.service.verdict import Verdict

__all__ = [
    "DEVICE_SHOTS",
    "KANJIVG_NOTICE",
    "KanjiVGError",
    "stroke_order_table",
    "LOW_CONFIDENCE",
    "max_overrule_for",
    "PHONE_DIGITS",
    "SHOT_CHOICES",
    "UPLOAD_EXTENSIONS",
    "CheckpointError",
    "DeviceRun",
    "Classification",
    "EmptyImageError",
    "Explanation",
    "ImageInputError",
    "ModelSummary",
    "NoiseEffect",
    "QuantumState",
    "ReadoutCurves",
    "SequenceInputError",
    "ShotEstimate",
    "TaskResults",
    "TaskService",
    "Verdict",
    "format_phone",
    "model_summary",
    "readout_curves",
    "task_results",
]


def __getattr__(name: str):
    """The Hiragana page's stroke-order table, loaded on first use: it reads KanjiVG's SVG files with svgpathtools,
    which no other page needs, and the server's first page should not wait for it."""
    if name in ("KANJIVG_NOTICE", "KanjiVGError", "stroke_order_table"):
        from qnn_core.service import kana_reference

        return getattr(kana_reference, name)
    if name in ("DEVICE_SHOTS", "DeviceRun"):  # the device view's, likewise loaded when it is first opened
        from qnn_core.service import device_views

        return getattr(device_views, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
