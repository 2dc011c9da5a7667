"""Data-parallel training: the shards of an epoch, and real 2-process torchrun runs over gloo on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from qnn_core.models.checkpoint import load_checkpoint
from qnn_core.training.distributed import Context, shard

pytestmark = [pytest.mark.ddp, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("ddp_probe.py")
TRAIN_ARGS = [
    "--task",
    "mnist",
    "--subset",
    "256",
    "--max-batches",
    "3",
    "--epochs",
    "1",
    "--batch-size",
    "16",
    "--threads",
    "1",
    "--device",
    "cpu",
]
RUN_TIMEOUT_S = 240  # a hang would be caught here; a healthy run takes ~15 s


@pytest.mark.parametrize("n", [256, 257])
def test_shards_are_disjoint_and_cover_the_data(n: int) -> None:
    parts = [shard(Context(rank=r, world_size=2), n, epoch=3, seed=0) for r in range(2)]
    assert len(parts[0]) == len(parts[1]) == -(-n // 2)
    together = torch.cat(parts).tolist()
    assert set(together) == set(range(n))
    assert len(together) - len(set(together)) == (2 - n % 2) % 2  # only DistributedSampler's padding repeats
    assert shard(Context(rank=0, world_size=2), n, epoch=4, seed=0).tolist() != parts[0].tolist()  # reshuffled


def torchrun(
    tmp_path: Path, extra_env: dict[str, str] | None = None, args: list[str] | None = None
) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "QNN_PROBE_DIR": str(tmp_path),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(PROBE),
        *(args or [*TRAIN_ARGS, "--out", str(tmp_path / "ddp.pt")]),
    ]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


def test_two_processes_train_one_model(tmp_path: Path) -> None:
    done = torchrun(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    a, b = (r["shards"][0] for r in ranks)
    assert not set(a) & set(b) and set(a) | set(b) == set(range(len(a) + len(b)))  # disjoint, covering
    # After three optimiser steps on different shards the ranks hold the same weights: DDP averaged the
    # gradients (their own gradients alone would have taken them apart).
    assert ranks[0]["params_sha256"] == ranks[1]["params_sha256"]
    assert list(tmp_path.glob("*.pt")) == [tmp_path / "ddp.pt"]  # rank 0 alone wrote, atomically (no temp left)
    model, meta = load_checkpoint(tmp_path / "ddp.pt")
    assert meta["distributed"] == {"world_size": 2, "backend": "gloo", "launcher": "torchrun"}
    assert meta["global_batch_size"] == 32 and meta["train_config"]["batch_size"] == 16
    assert done.stdout.count('"task": "mnist"') == 1  # one summary line, from rank 0


def test_a_crashed_rank_ends_the_run_with_its_error(tmp_path: Path) -> None:
    done = torchrun(tmp_path, {"QNN_PROBE_CRASH_RANK": "1"})
    assert done.returncode != 0
    assert "rank 1 crashed on purpose" in done.stderr  # the failed rank's own traceback, through torchrun
    assert not (tmp_path / "ddp.pt").exists()


def test_two_processes_stopped_after_epoch_1_resume_to_the_weights_of_a_run_straight_through(tmp_path: Path) -> None:
    two_epochs = [
        *TRAIN_ARGS[: TRAIN_ARGS.index("--epochs")],
        "--epochs",
        "2",
        *TRAIN_ARGS[TRAIN_ARGS.index("--epochs") + 2 :],
    ]
    straight = tmp_path / "straight"
    straight.mkdir()
    done = torchrun(straight, args=[*two_epochs, "--out", str(straight / "ddp.pt")])
    assert done.returncode == 0, done.stderr[-3000:]
    stopped = torchrun(tmp_path, {"QNN_PROBE_STOP_AFTER": "1"}, [*two_epochs, "--out", str(tmp_path / "ddp.pt")])
    assert stopped.returncode != 0 and (tmp_path / "ddp.resume.pt").is_file()
    resumed = torchrun(tmp_path, args=["--resume", str(tmp_path / "ddp.resume.pt"), "--threads", "1"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    for rank in range(2):  # every rank's weights, and its epoch-2 shard, as if it had never stopped
        a, b = (json.loads((d / f"rank{rank}.json").read_text()) for d in (straight, tmp_path))
        assert a["params_sha256"] == b["params_sha256"] and a["shards"][1] == b["shards"][0]
    assert load_checkpoint(tmp_path / "ddp.pt")[1]["resumed_after_epochs"] == [1]
