"""The quantum-bottleneck model: its decision passes through the qubits alone, its classical twin has exactly
the circuit's parameter count, and it borrows (never copies) its task's shipped hybrid's backbone."""

from __future__ import annotations

import shutil

import pytest
import torch
from helpers import ROOT

from qnn_core.models import checkpoint
from qnn_core.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from qnn_core.models.hybrid import HybridNet, ModelConfig
from qnn_core.training import cli


def bottleneck(quantum: bool = True) -> HybridNet:
    torch.manual_seed(0)
    return HybridNet(ModelConfig(head="bottleneck", quantum=quantum, n_qubits=8, q_depth=3)).eval()


def test_the_twin_has_the_circuits_number_of_trainable_parameters():
    circuit = sum(p.numel() for p in bottleneck(True).quantum.parameters())
    matched = sum(p.numel() for p in bottleneck(False).matched.parameters())
    assert circuit == matched == 2 * 8 * 3


def test_with_the_qubits_off_every_input_gets_the_same_answer():
    model, x = bottleneck(), torch.randn(6, 1, 28, 28)
    on, off = model.logits_and_expvals(x)[0], model.logits_and_expvals(x, quantum=False)[0]
    assert on.std(0).max() > 1e-3  # the inputs do reach the head through the circuit
    assert torch.allclose(off, model.head.bias.expand_as(off))  # ... and only through it
    assert model.head.in_features == 8


@pytest.fixture()
def donor_dir(tmp_path, monkeypatch):
    """A checkpoints folder with a copy of the shipped MNIST hybrid, which a bottleneck borrows from."""
    shutil.copy(ROOT / "checkpoints" / "mnist_hybrid.pt", tmp_path / "mnist_hybrid.pt")
    monkeypatch.setattr(checkpoint, "CHECKPOINT_DIR", tmp_path)
    return tmp_path


def test_the_backbone_is_borrowed_and_a_replaced_donor_is_refused(donor_dir):
    donor, _ = load_checkpoint(donor_dir / "mnist_hybrid.pt")
    model = bottleneck()
    model.backbone.load_state_dict(donor.backbone.state_dict())
    sha = checkpoint.tensors_sha256(donor.backbone.state_dict())
    meta = {
        "task": "mnist",
        "model_kind": "bottleneck",
        "backbone_from": {"checkpoint": "mnist_hybrid.pt", "sha256": sha},
    }
    save_checkpoint(model, meta, donor_dir / "mnist_bottleneck.pt")
    stored = torch.load(donor_dir / "mnist_bottleneck.pt", weights_only=True)["state_dict"]
    assert stored and not any(k.startswith("backbone.") for k in stored)  # only the heads travel
    loaded, _ = load_checkpoint(donor_dir / "mnist_bottleneck.pt")
    x = torch.randn(3, 1, 28, 28)
    assert torch.allclose(loaded(x), model(x), atol=1e-6)

    donor.backbone.stem[0].weight.data += 0.01  # the hybrid is retrained: its backbone is another one now
    save_checkpoint(donor, {"task": "mnist"}, donor_dir / "mnist_hybrid.pt")
    with pytest.raises(CheckpointError, match="qnn train --task mnist --model bottleneck"):
        load_checkpoint(donor_dir / "mnist_bottleneck.pt")


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--task", "animals", "--model", "bottleneck"], "--model bottleneck is for the handwriting tasks"),
        (
            ["--task", "mnist", "--model", "bottleneck", "--augment", "handwriting"],
            "--augment cannot apply to a bottleneck",
        ),
        (["--task", "mnist", "--model", "bottleneck-twin", "--swa"], "--swa is not offered"),
    ],
)
def test_what_a_bottleneck_cannot_honour_is_refused(argv, says, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.parse([*argv, "--out", "never.pt"])
    assert exit_.value.code == 2 and says in capsys.readouterr().err


def test_train_writes_a_small_bottleneck_that_loads(tmp_path):
    out = tmp_path / "b.pt"
    assert (
        cli.main(
            [
                "--task",
                "mnist",
                "--model",
                "bottleneck-twin",
                "--subset",
                "256",
                "--max-batches",
                "2",
                "--epochs",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    model, meta = load_checkpoint(out)
    assert meta["model_kind"] == "bottleneck-twin" and model.bottleneck and not model.config.quantum
    assert out.stat().st_size < 100_000  # the heads alone; the backbone stays in mnist_hybrid.pt
