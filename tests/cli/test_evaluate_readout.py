"""`evaluate --shots N --noise P`: the hybrid's accuracy with its <Z> estimated from shots and/or under noise, on
a small --limit (the physics and the seeding are tested in tests/inference and tests/service); a value or a model
the flags cannot apply to is a one-line usage error."""

from __future__ import annotations

import json

import pytest
import torch

from qnn_core.data.loaders import load_split
from qnn_core.evaluation import evaluate
from qnn_core.inference.batch import predict_logits, readout_logits
from qnn_core.inference.quantum_readout import Readout
from qnn_core.models.checkpoint import load_checkpoint
from qnn_core.tasks import get_task

LIMIT = ["--task", "mnist", "--limit", "8", "--json"]
pytestmark = pytest.mark.skipif(not get_task("mnist").checkpoint().is_file(), reason="no shipped mnist checkpoint")


def run(capsys, *flags: str) -> dict:
    assert evaluate.main([*LIMIT, *flags]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_shots_and_noise_are_measured_beside_the_exact_accuracy(capsys):
    exact = run(capsys)
    both = run(capsys, "--model", "hybrid", "--shots", "50", "--noise", "0.05")
    assert both["shots"] == 50 and both["noise"] == 0.05 and both["seed"] == 0 and both["n"] == 8
    assert both["accuracy_exact"] == exact["accuracy"] and 0 <= both["accuracy"] <= 1
    # 0 shots are the exact values, and p = 1 leaves every <Z> at 0: what switching the branch off feeds the head
    full = run(capsys, "--shots", "0", "--noise", "1")
    assert full["shots"] == 0 and full["accuracy"] == exact["accuracy_quantum_off"]
    assert full["accuracy_exact"] == exact["accuracy"]


def test_noise_1_gives_the_logits_of_the_branch_switched_off():
    """p = 1 through the batch route (pulled-back <Z> observables, then the head) is the switched-off branch."""
    task = get_task("mnist")
    model, _ = load_checkpoint(task.checkpoint())
    images = load_split(task, "test").images[:8]
    noisy, _ = readout_logits(model, task, images, Readout(noise=1.0))
    torch.testing.assert_close(noisy, predict_logits(model, task, images, quantum=False), atol=1e-5, rtol=0)
    exact, _ = readout_logits(model, task, images, Readout(shots=0, noise=0.0))  # the estimator's exact route
    torch.testing.assert_close(exact, predict_logits(model, task, images), atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    "flags, says",
    [
        (["--shots", "-3"], "argument --shots: expected 0 (exact) or more shots, got -3"),
        (["--shots", "many"], "argument --shots: expected a whole number of shots"),
        (["--noise", "1.5"], "argument --noise: expected a probability between 0 and 1, got 1.5"),
        (["--noise", "nan"], "argument --noise: expected a probability between 0 and 1"),
        (
            ["--model", "classical", "--shots", "10"],
            "--shots read out the quantum branch; a classical-only model has none",
        ),
        (
            ["--quantum", "off", "--noise", "0.1"],
            "--noise read out the quantum branch, which --quantum off switches off",
        ),
        (
            ["--checkpoint", str(get_task("mnist").checkpoint(False)), "--shots", "5", "--noise", "0.1"],
            "--shots and --noise read out the quantum branch; a classical-only model has none",
        ),
        (["--qpu", "fake_nowhere", "--shots", "10"], "argument --qpu: unknown device 'fake_nowhere'"),
        (
            ["--qpu", "fake_lima", "--shots", "10"],
            "argument --qpu: fake_lima has 5 qubits; this model's circuit needs 8",
        ),
        (["--qpu", "fake_kolkata"], "--qpu reads the circuit from shots, as a device gives them: add --shots N"),
        (
            ["--qpu", "fake_kolkata", "--shots", "10", "--noise", "0.1"],
            "--qpu brings the device's own calibrated noise",
        ),
        (
            ["--model", "classical", "--qpu", "fake_kolkata", "--shots", "10"],
            "--shots and --qpu read out the quantum branch; a classical-only model has none",
        ),
    ],
)
def test_a_value_or_model_the_flags_cannot_apply_to_is_a_one_line_usage_error(flags, says, capsys, monkeypatch):
    monkeypatch.setattr(evaluate, "load_split", lambda *a, **k: pytest.fail("evaluated anyway"))
    with pytest.raises(SystemExit) as exit_:
        evaluate.main([*LIMIT, *flags])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.count("\n") == 1 and err.startswith("qnn evaluate: error: ") and says in err, err


def test_qpu_measures_the_accuracy_under_a_simulated_devices_noise_and_routing(capsys):
    """The hybrid on fake_kolkata (the app's default device and model: the routing is built once for all the tests)."""
    result = run(capsys, "--qpu", "fake_kolkata", "--shots", "200", "--limit", "6")
    assert result["n"] == 6 and result["shots"] == 200 and result["noise"] == 0 and 0 <= result["accuracy"] <= 1
    qpu = result["qpu"]
    assert (
        qpu["name"] == "fake_kolkata"
        and qpu["snapshot"] == "2021-12-09"
        and "not a run on hardware" in qpu["simulated"]
    )
    assert qpu["cnots"][0] == 24 and qpu["cnots"][1] > 24 and len(qpu["physical_qubits"]) == 8
    assert result["accuracy_exact"] == run(capsys, "--limit", "6")["accuracy"]
