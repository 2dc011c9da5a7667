"""Resumable training: a run stopped after an epoch and resumed from its resume file ends exactly where a run
straight through ends, and every bad --resume is a one-line usage error."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from qnn_core.models.checkpoint import load_checkpoint
from qnn_core.training import loop
from qnn_core.training.config import TrainConfig
from qnn_core.training.resume import resume_path
from qnn_core.training.train import main, train

pytestmark = pytest.mark.slow


class Stopped(Exception):
    """The session ending mid-run."""


def record_epochs(monkeypatch, stop_after: int | None = None) -> dict[int, dict[str, torch.Tensor]]:
    """The weights every resume file holds, by epoch; raise Stopped once epoch `stop_after`'s is written."""
    weights: dict[int, dict[str, torch.Tensor]] = {}
    real = loop.save_resume

    def save(path: Path, state: dict) -> Path:
        weights[state["epoch"]] = {k: v.clone() for k, v in state["model"].items()}
        written = real(path, state)
        if state["epoch"] == stop_after:
            raise Stopped
        return written

    monkeypatch.setattr(loop, "save_resume", save)
    return weights


def history(meta: dict) -> list[dict]:
    return [{k: v for k, v in h.items() if k not in ("epoch_time_s", "images_per_s")} for h in meta["history"]]


@pytest.mark.parametrize("swa", [False, True], ids=["one-cycle", "swa"])
def test_a_run_stopped_after_epoch_1_and_resumed_ends_as_one_run_straight_through(swa, tmp_path, monkeypatch):
    # Dropout, augmentation and the shuffled order all draw random numbers, so any stream not restored shows.
    cfg = TrainConfig(
        task="mnist",
        epochs=3,
        subset=256,
        max_batches=3,
        batch_size=32,
        threads=1,
        swa=swa,
        lr=1e-3,
        augment="handwriting+elastic",
        model={"dropout": 0.2},
    )
    straight = record_epochs(monkeypatch)
    train(cfg, tmp_path / "straight.pt", quiet=True)
    assert not resume_path(tmp_path / "straight.pt").exists()  # a finished run leaves only its checkpoint

    out = tmp_path / "stopped.pt"
    with pytest.raises(Stopped):
        record_epochs(monkeypatch, stop_after=1)
        train(cfg, out, quiet=True)
    assert resume_path(out).is_file()
    resumed = record_epochs(monkeypatch)
    assert main(["--resume", str(resume_path(out)), "--threads", "1"]) == 0
    assert sorted(resumed) == [2, 3]  # it went on from epoch 2
    for name, tensor in straight[3].items():
        assert torch.equal(resumed[3][name], tensor), name
    a, b = load_checkpoint(tmp_path / "straight.pt"), load_checkpoint(out)
    assert history(a[1]) == history(b[1]) and a[1]["best_epoch"] == b[1]["best_epoch"]
    assert b[1]["resumed_after_epochs"] == [1] and "resumed_after_epochs" not in a[1]
    for name, tensor in a[0].state_dict().items():
        assert torch.equal(b[0].state_dict()[name], tensor), name
    assert not resume_path(out).exists()


def test_a_bad_resume_is_a_one_line_usage_error(tmp_path, tiny_checkpoint, capsys):
    garbage = tmp_path / "garbage.resume.pt"
    garbage.write_bytes(b"\x00not a torch file")
    cases = [
        (["--resume", str(tmp_path / "gone.resume.pt")], "no such file"),
        (["--resume", str(garbage)], "not a readable resume file"),
        (["--resume", str(tiny_checkpoint)], "not a resume file (a checkpoint? fine-tune from one with --init)"),
        (["--resume", str(garbage), "--epochs", "9"], "--epochs cannot be given with it"),
        (["--resume", str(garbage), "--task", "kmnist"], "--task cannot be given with it"),
        ([], "the following arguments are required: --task (or --resume FILE)"),
    ]
    for argv, says in cases:
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and err.count("\n") == 1 and says in err, (argv, err)
