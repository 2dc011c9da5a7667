"""Training images/s on one MNIST epoch slice: one process with one thread, one process with two threads, and
two DDP processes (torchrun, gloo) with one thread each, the three alternated so that the machine's load
drifts over all of them alike. Each run is a real `qnn train` in its own process; the speed is
the trainer's own epoch record (every process's images over the epoch's wall time, start-up excluded)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.timing import load_average
from qnn_core.models.checkpoint import read_meta
from qnn_core.tasks import REPO_ROOT

BATCH = 128  # per process, as in the trainer: two DDP processes take 2 x 128 images a step
CONFIGS = {"1 process x 1 thread": (1, 1), "1 process x 2 threads": (1, 2), "2 DDP processes x 1 thread": (2, 1)}


def train_once(processes: int, threads: int, batches: int, out: Path) -> float:
    """Images/s of one epoch slice of `batches` optimiser steps per process."""
    args = [
        "--task",
        "mnist",
        "--subset",
        str(batches * BATCH * processes),
        "--max-batches",
        str(batches),
        "--epochs",
        "1",
        "--batch-size",
        str(BATCH),
        "--threads",
        str(threads),
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    launcher = (
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)]
        if processes > 1
        else [sys.executable]
    )
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    subprocess.run(
        [*launcher, "-m", "qnn_core", "train", *args],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(read_meta(out)["history"][0]["images_per_s"])


def data_parallel(budget) -> dict:
    speeds: dict[str, list[float]] = {name: [] for name in CONFIGS}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(budget.ddp_repeats):
            for name, (processes, threads) in CONFIGS.items():
                loads.append(load_average())
                speeds[name].append(train_once(processes, threads, budget.ddp_batches, Path(tmp) / f"{repeat}.pt"))
    median = {name: statistics.median(v) for name, v in speeds.items()}
    base = median["1 process x 1 thread"]
    return {
        "task": "mnist",
        "model": "hybrid 8q x 3",
        "batch_per_process": BATCH,
        "batches": budget.ddp_batches,
        "repeats": budget.ddp_repeats,
        "cores": os.cpu_count(),
        "images_per_s": {name: [round(s, 1) for s in v] for name, v in speeds.items()},
        "median_images_per_s": {name: round(m, 1) for name, m in median.items()},
        "ratio_to_one_thread": {name: round(m / base, 3) for name, m in median.items()},
        "load_avg_during": loads,
        "goal_ddp_ratio": 1.7,
    }
