"""What a user may ask of a training job, checked before anything starts.

The page and the CLI both build a `JobParams`; `validate()` turns every bad value into
one plain sentence, so a typo never reaches the trainer as a traceback.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from qnn_core.devices import check_spelling
from qnn_core.settings import non_negative_int, same_setting
from qnn_core.tasks import TASKS

if TYPE_CHECKING:  # the trainer pulls in torch; only the worker needs it
    from qnn_core.training.train import TrainConfig

# Inclusive bounds of the whole-number parameters, with the words used in messages.
LIMITS: dict[str, tuple[str, int, int]] = {
    # 12 qubits: the fused circuit makes a 12-qubit MNIST epoch cost about 1.1x an 8-qubit one (benchmarks §3)
    "n_qubits": ("Number of qubits", 4, 12),
    "q_depth": ("Circuit depth", 1, 6),
    "epochs": ("Epochs", 1, 50),
    "batch_size": ("Batch size", 8, 1024),
    "seed": ("Seed", 0, 2**31 - 1),
    "subset": ("Training subset", 64, 60_000),
    "max_batches": ("Batches per epoch", 1, 100_000),
    "limit": ("Test images", 100, 10_000),
}
OPTIONAL = ("subset", "max_batches", "limit")  # None means "no limit"
MAX_LR = 1.0


# Job records written before the job parameters took the trainer's names (runs/jobs.sqlite keeps them).
OLD_NAMES = {"qubits": "n_qubits", "depth": "q_depth", "test_images": "limit"}


def renamed(data: dict[str, Any]) -> dict[str, Any]:
    """Stored job parameters under the current names (rows and Ray jobs from before the rename use the old)."""
    return {OLD_NAMES.get(k, k): v for k, v in data.items()}


@dataclass
class JobParams:
    """A training run with a queue around it: the trainer's settings under the trainer's names and flags
    (settings.py), with demo defaults: one epoch on 3,000 images, quick enough to watch in class."""

    task: str = "mnist"
    quantum: bool = True
    n_qubits: int = same_setting("n_qubits", 8)
    q_depth: int = same_setting("q_depth", 3)
    epochs: int = same_setting("epochs", 1)
    lr: float = same_setting("lr", 3e-3)
    # Small batches give a short demo enough optimiser steps: 3,000 images, one epoch reach ~84% validation
    # accuracy at 32 against ~10% at 128 (measured on MNIST).
    batch_size: int = same_setting("batch_size", 32)
    seed: int = same_setting("seed", 0)
    subset: int | None = same_setting(
        "subset", 3000, help="train on the first N training images; 0 = all of them", type=non_negative_int
    )
    max_batches: int | None = same_setting("max_batches", None)  # cap per epoch; for tests and very quick demos
    # Test images evaluated after training. None: all of them, or the first 2,000 for a subset demo.
    limit: int | None = None
    threads: int = same_setting("threads", 1)  # the machine has few cores and other jobs may be running
    device: str = "auto"  # where the trainer runs (qnn_core.devices): auto is CUDA when the worker's machine has it
    # Data-parallel processes under torchrun (DDP, gloo on CPU): rank 0 alone reports and writes the checkpoint.
    processes: int = 1

    def validate(self) -> JobParams:
        """Raise ValueError with a human sentence for the first bad value; return self when all are fine."""
        if self.task not in TASKS:
            raise ValueError(f"Unknown task {self.task!r}. Choose one of: {', '.join(TASKS)}.")
        if not isinstance(self.quantum, bool):
            raise ValueError("The quantum switch must be on or off (true or false).")
        for name, (words, low, high) in LIMITS.items():
            value = getattr(self, name)
            if value is None and name in OPTIONAL:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{words} must be a whole number (got {value!r}).")
            if not low <= value <= high:
                raise ValueError(f"{words} must be between {low:,} and {high:,} (got {value:,}).")
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not math.isfinite(self.lr):
            raise ValueError(f"Learning rate must be a number (got {self.lr!r}).")
        if not 0 < self.lr <= MAX_LR:
            raise ValueError(f"Learning rate must be greater than 0 and at most {MAX_LR:g} (got {self.lr:g}).")
        cores = os.cpu_count() or 1
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or not 1 <= self.threads <= cores:
            raise ValueError(f"Threads must be a whole number between 1 and {cores} (got {self.threads!r}).")
        processes = self.processes
        if isinstance(processes, bool) or not isinstance(processes, int) or not 1 <= processes <= cores:
            raise ValueError(f"Processes must be a whole number between 1 and {cores} (got {processes!r}).")
        check_spelling(self.device)  # DeviceError (a ValueError): whether that device is there, the worker checks
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobParams:
        """Strict: an unknown key is a mistake worth reporting, not something to drop silently. Records stored
        under the old names (qubits, depth, test_images) are read under the new ones."""
        data = renamed(data)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown parameter(s): {', '.join(unknown)}.")
        return cls(**data)

    @property
    def model_label(self) -> str:
        return model_label(self.quantum, self.n_qubits, self.q_depth)

    def train_config(self) -> TrainConfig:
        """The trainer's configuration for these parameters."""
        from qnn_core.training.train import TrainConfig

        return TrainConfig(
            task=self.task,
            epochs=self.epochs,
            quantum=self.quantum,
            seed=self.seed,
            lr=float(self.lr),
            batch_size=self.batch_size,
            n_qubits=self.n_qubits,
            q_depth=self.q_depth,
            subset=self.subset,
            max_batches=self.max_batches,
            threads=self.threads,
            device=self.device,
            # a subset demo on photos skips the cached crop + mirror views: extracting them
            # would take minutes before the first step (pretrained backbones only: the trainer
            # refuses --views for a resnet trained on pixels)
            views=0 if self.subset and TASKS[self.task].backbone != "resnet" else None,
        )


def model_label(quantum: object, n_qubits: object, q_depth: object) -> str:
    """Short description for tables, of a JobParams or of a stored row's parameters: 'hybrid 8q×3' or 'classical'."""
    return f"hybrid {n_qubits}q×{q_depth}" if quantum else "classical"
