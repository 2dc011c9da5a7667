"""Classify user images with a task's shipped (or given) checkpoint.

    qnn predict --task mnist FILE [FILE ...] [--model classical | --checkpoint PATH] [--quantum off]
                               [--top K] [--qasm DIR]

One JSON line per file: {"file": ..., "label": ..., "top": [[label, prob], ...], "unsure": false,
"unsure_reason": "", "looks_like": null, "expvals": [...]}. `unsure` is the model's calibrated "I'm not sure", the
same verdict the app shows (service/verdict.py), and the reason says why in a sentence ("This doesn't look like a
digit: ..."). `looks_like` names another animal than the six for the animals task ("cow"), and is null otherwise.
`expvals` are the circuit's exact <Z>, wire 0 first (null for a classical-only model); on a task served with
test-time mirroring they are the image's as given, not the mirrored pair's mean.
`--qasm DIR` also writes each file's circuit as DIR/<file stem>.qasm (OpenQASM 2) and DIR/<file stem>.qasm3
(OpenQASM 3), headed by a comment naming the task, the model, the file and those <Z>: run them on any simulator
or quantum computer (nothing is contacted from here).
A bad file gets a one-line error on stderr and the exit status is non-zero.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qnn_core.cli_args import add_model, add_quantum_switch, positive_int
from qnn_core.devices import add_device
from qnn_core.inference.predict import Prediction, Predictor, run_over_files
from qnn_core.preprocess.image import ImageInputError
from qnn_core.service.device_views import layer_expvals
from qnn_core.service.verdict import verdict


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qnn predict", description=__doc__.split("\n")[0])
    p.add_argument("--task", required=True)
    p.add_argument("files", nargs="+")
    add_model(p)
    add_quantum_switch(p)
    p.add_argument("--top", type=positive_int, default=3, help="how many labels to list (default %(default)s)")
    p.add_argument(
        "--qasm",
        type=Path,
        metavar="DIR",
        help="also write each file's circuit as DIR/<file stem>.qasm (OpenQASM 2) and .qasm3 (OpenQASM 3)",
    )
    add_device(p)
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    a = p.parse_args(argv)
    if a.qasm is not None and a.qasm.exists() and not a.qasm.is_dir():
        p.error(f"argument --qasm: {a.qasm} is a file, not a folder")
    if a.qasm is not None and a.checkpoint is None and a.model in ("classical", "bottleneck-twin"):
        p.error(f"argument --qasm: the {a.model} model has no quantum circuit to write")

    def handle(predictor: Predictor, f: str) -> None:
        if a.qasm is not None and not predictor.model_is_hybrid:
            raise QasmError("--qasm writes the quantum circuit; this model is classical-only and has none")
        pred = predictor.predict(f, quantum=a.quantum == "on", k=a.top)
        top = [[label, round(prob, 4)] for label, prob in pred.top]
        said = verdict(predictor, pred)
        expvals = as_given(predictor, pred)
        if a.qasm is not None:
            write_qasm(predictor, pred, f, expvals, a)
        print(
            json.dumps(
                {
                    "file": f,
                    "label": pred.label,
                    "top": top,
                    "unsure": said.unsure,
                    "unsure_reason": said.message,
                    "looks_like": said.looks_like,  # another animal than the task's classes ("cow"), else null
                    "expvals": None if expvals is None else [round(float(v), 6) for v in expvals],
                },
                ensure_ascii=False,
            ),
            flush=True,
        )

    return run_over_files(a, handle, errors=(ImageInputError, QasmError))


class QasmError(ValueError):
    """--qasm asked of a model without a circuit."""


def as_given(predictor: Predictor, pred: Prediction):
    """The circuit's exact <Z> for the image as given (the first view), or None for a classical-only model."""
    if pred.circuit_input is None:
        return None
    return layer_expvals(predictor.model.quantum, pred.circuit_input.angles[0])


def write_qasm(predictor: Predictor, pred: Prediction, f: str, expvals, a: argparse.Namespace) -> list[Path]:
    """DIR/<stem>.qasm and DIR/<stem>.qasm3: the circuit of the image as given, headed by what it is."""
    from qnn_core.inference import qiskit_circuit  # imports Qiskit: only when files are asked for

    task = predictor.task
    qc = qiskit_circuit.model_circuit(predictor.model.quantum, pred.circuit_input.angles[0])
    kind = "quantum-bottleneck" if predictor.model.bottleneck else "hybrid"
    a.qasm.mkdir(parents=True, exist_ok=True)
    written = []
    for version, suffix in ((2, ".qasm"), (3, ".qasm3")):
        header = qiskit_circuit.export_header(
            task.name,
            task.title,
            kind,
            predictor.checkpoint.name,
            f"the file {Path(f).name}",
            expvals,
            task.test_time_mirror,
            version,
        )
        path = a.qasm / (Path(f).stem + suffix)
        path.write_text(qiskit_circuit.to_qasm(qc, version, header))
        written.append(path)
    return written


if __name__ == "__main__":
    sys.exit(main())
