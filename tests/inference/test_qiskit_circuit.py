"""The model's circuit as a Qiskit circuit: its statevector's <Z> are the model's own, for the hybrid and the
bottleneck of two tasks; and the OpenQASM files `qnn predict --qasm` writes read back to the same <Z>."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

from qnn_core.cli import predict
from qnn_core.data.loaders import load_split
from qnn_core.inference import qiskit_circuit
from qnn_core.inference.predict import Predictor
from qnn_core.tasks import get_task

pytestmark = pytest.mark.skipif(
    not get_task("mnist").model_checkpoint("bottleneck").is_file(), reason="no shipped checkpoints"
)
MODELS = [(t, k) for t in ("mnist", "kmnist") for k in ("hybrid", "bottleneck")]


@pytest.mark.parametrize("task_name, kind", MODELS)
def test_the_qiskit_statevector_gives_the_models_own_expvals(task_name, kind):
    task = get_task(task_name)
    predictor = Predictor(task, task.model_checkpoint(kind))
    layer = predictor.model.quantum
    test = load_split(task, "test")
    for image in test.images[:2]:  # a test image: the angles the model computes for it, then its trained layers
        pred = predictor.predict(Image.fromarray(image))
        angles = pred.circuit_input.angles[0]
        qc = qiskit_circuit.model_circuit(layer, angles)
        assert qc.count_ops() == {"ry": 8 + 24, "rx": 24, "cx": 24, "measure": 8}
        np.testing.assert_allclose(qiskit_circuit.statevector_expvals(qc), pred.expvals, atol=1e-5)
    # and at the encoding's extremes, against the layer gate by gate (TorchQuantum itself)
    angles = np.array([math.pi * 0.999, -math.pi * 0.999, 0, 1, -1, 2, -2, 3])
    with torch.no_grad():
        tq = layer.forward_circuit(torch.tensor(angles[None])).double().numpy()[0]
    np.testing.assert_allclose(
        qiskit_circuit.statevector_expvals(qiskit_circuit.model_circuit(layer, angles)), tq, atol=1e-5
    )


def _qasm3_circuit(text: str):
    """A reader for the OpenQASM 3 subset the export writes (qiskit 0.45 writes 3 but reads only 2 without the
    qiskit-qasm3-import package): qubit[n], ry/rx(angle) q[i], cx q[a], q[b], measure."""
    from qiskit import QuantumCircuit

    n = int(re.search(r"qubit\[(\d+)\] q;", text).group(1))
    qc = QuantumCircuit(n)
    for gate, arg, a, b in re.findall(r"^(rx|ry|cx)(?:\(([^)]*)\))? q\[(\d+)\](?:, q\[(\d+)\])?;$", text, re.M):
        if gate == "cx":
            qc.cx(int(a), int(b))
        else:
            getattr(qc, gate)(float(arg), int(a))
    assert len(re.findall(r"^c\[\d+\] = measure q\[\d+\];$", text, re.M)) == n
    return qc


def test_qasm_files_read_back_to_the_models_expvals_of_the_image_as_given(tmp_path, capsys):
    """Fashion serves the image averaged with its mirror image: the files and `expvals` are the image as given."""
    from qiskit import QuantumCircuit

    task = get_task("fashion")
    image = tmp_path / "boot.png"
    Image.fromarray(load_split(task, "test").images[0]).save(image)
    out = tmp_path / "qasm"
    assert predict.main(["--task", "fashion", "--model", "bottleneck", str(image), "--qasm", str(out)]) == 0
    line = json.loads(capsys.readouterr().out)
    expvals = np.array(line["expvals"])
    pred = Predictor(task, task.model_checkpoint("bottleneck")).predict(str(image))
    assert pred.circuit_input.views == 2 and not np.allclose(expvals, pred.expvals, atol=1e-3)  # not the pair's mean
    given = qiskit_circuit.statevector_expvals(
        qiskit_circuit.model_circuit(
            Predictor(task, task.model_checkpoint("bottleneck")).model.quantum, pred.circuit_input.angles[0]
        )
    )
    np.testing.assert_allclose(expvals, given, atol=1e-5)
    qasm2 = QuantumCircuit.from_qasm_file(str(out / "boot.qasm"))  # OpenQASM 2, read by qiskit itself
    np.testing.assert_allclose(qiskit_circuit.statevector_expvals(qasm2), expvals, atol=1e-5)
    text3 = (out / "boot.qasm3").read_text()
    assert text3.splitlines()[0].startswith("// OpenQASM 3 export") and "OPENQASM 3" in text3
    np.testing.assert_allclose(qiskit_circuit.statevector_expvals(_qasm3_circuit(text3)), expvals, atol=1e-5)
    for text in ((out / "boot.qasm").read_text(), text3):
        head = "\n".join(line for line in text.splitlines() if line.startswith("//"))
        for said in ("fashion", "quantum-bottleneck", "fashion_bottleneck.pt", "boot.png", "mirror image"):
            assert said in head
        assert ", ".join(f"{v:+.6f}" for v in expvals) in head


def test_a_classical_model_has_no_expvals_and_no_circuit_to_write(tmp_path, capsys):
    from helpers import draw_digit_one

    image = tmp_path / "one.png"
    draw_digit_one().save(image)
    assert predict.main(["--task", "mnist", "--model", "classical", str(image)]) == 0
    assert json.loads(capsys.readouterr().out)["expvals"] is None
    with pytest.raises(SystemExit) as stop:
        predict.main(["--task", "mnist", "--model", "classical", str(image), "--qasm", str(tmp_path)])
    assert stop.value.code == 2
    assert "has no quantum circuit" in capsys.readouterr().err
