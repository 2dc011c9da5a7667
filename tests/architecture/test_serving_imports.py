"""Serving stays light: what `import qnn_core.service` loads is pinned, and the circuit built without TorchQuantum
is TorchQuantum's circuit.

A first visitor waits for this import (the whole of it before the first page can draw), so training, the
evaluation writers and TorchQuantum (which pulls in torchvision and qiskit) must stay out of it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from helpers import ROOT

MAX_SERVING_MODULES = 41
NEVER_WHEN_SERVING = ("qnn_core.training", "qnn_core.evaluation.ablation", "qnn_core.evaluation.report")


def loaded_by(statement: str) -> list[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_importing_the_service_loads_no_training_no_report_writers_and_no_torchquantum():
    modules = loaded_by("import qnn_core.service")
    ours = [m for m in modules if m.startswith("qnn_core")]
    assert len(ours) <= MAX_SERVING_MODULES, f"{len(ours)} qnn_core modules: {ours}"
    wrong = [m for m in ours if m.startswith(NEVER_WHEN_SERVING)]
    assert not wrong, wrong
    heavy = [m for m in ("torchquantum", "torchvision", "qiskit", "sklearn", "matplotlib") if m in modules]
    assert not heavy, heavy


def test_serving_a_prediction_and_its_gradcam_imports_no_torchquantum_torchvision_or_sklearn():
    modules = loaded_by(
        "from PIL import Image; import numpy as np; from qnn_core.service import TaskService; "
        "s = TaskService.get('mnist'); r = s.classify(Image.fromarray(np.full((64, 64), 255, np.uint8) - "
        "np.eye(64, dtype=np.uint8) * 255)); s.explain(r); s.quantum_state(r); s.noise(r, 0.05)"
    )
    heavy = [m for m in ("torchquantum", "torchvision", "qiskit", "sklearn", "pytorch_grad_cam") if m in modules]
    assert not heavy, heavy


@pytest.mark.slow  # two fresh interpreters, or TorchQuantum's import: seconds each
def test_the_pinned_list_would_see_another_import():
    """The check itself can fail: a module imported after the service (here the jobs' scheduler, which serving
    leaves out) shows up in the list."""
    assert "qnn_core.jobs.scheduler" not in loaded_by("import qnn_core.service")
    assert "qnn_core.jobs.scheduler" in loaded_by("import qnn_core.service; import qnn_core.jobs.scheduler")


@pytest.mark.slow  # imports TorchQuantum (seconds)
def test_the_fused_layer_unitaries_are_torchquantums():
    from qnn_core.inference.quantum_state import layer_unitary, tq_layer_unitary
    from qnn_core.models.quantum import QuantumLayer

    torch.manual_seed(3)
    for n, depth in ((8, 3), (5, 2)):
        layer = QuantumLayer(n, depth).eval()
        for i in range(depth):
            torch.testing.assert_close(layer_unitary(layer, i), tq_layer_unitary(layer, i), atol=2e-6, rtol=0)


@pytest.mark.slow  # imports TorchQuantum (seconds)
def test_the_angles_start_where_torchquantums_modules_started():
    """Same seed, same initial circuit: the angles are drawn as TorchQuantum's RX / RY drew theirs."""
    from qnn_core.models.quantum import QuantumLayer, tq

    tqm, _ = tq()
    torch.manual_seed(7)
    layer = QuantumLayer(4, 2)
    torch.manual_seed(7)
    rx = [tqm.RX(has_params=True, trainable=True) for _ in range(8)]
    ry = [tqm.RY(has_params=True, trainable=True) for _ in range(8)]
    assert [k for k in layer.state_dict() if "params" in k][:2] == ["rx.0.params", "rx.1.params"]
    for mine, theirs in zip([*layer.rx, *layer.ry], [*rx, *ry]):
        assert mine.params.shape == theirs.params.shape and torch.equal(mine.params, theirs.params)
