"""What a split of a data set is, and the one rule that carves validation out of an official train split.

Every trainer, evaluator and calibration reads validation through `validation_split`, so they all hold out
the same images, sized by the task's `val_size`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qnn_core.fileio import save_arrays_atomic
from qnn_core.tasks import TaskSpec

VAL_SIZE = 5000


class DataNotFoundError(FileNotFoundError):
    pass


@dataclass
class Split:
    images: np.ndarray  # uint8 (N, H, W), or (N, H, W, 3) for colour photos
    labels: np.ndarray  # int64 (N,)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray | slice) -> Split:
        return Split(self.images[index], self.labels[index])


def orient(images: np.ndarray, orientation: str) -> np.ndarray:
    if orientation == "transpose":
        return np.ascontiguousarray(images.transpose(0, 2, 1))
    return images


def train_val_indices(n: int, seed: int = 0, val_size: int = VAL_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Indices of (train, validation) within an official train split of n images."""
    order = np.random.default_rng(seed).permutation(n)
    return order[val_size:], order[:val_size]


def train_val_split(train: Split, seed: int = 0, val_size: int = VAL_SIZE) -> tuple[Split, Split]:
    """Validation taken from the official train split, the same for every run of a given seed."""
    tr, va = train_val_indices(len(train), seed, val_size)
    return train.subset(tr), train.subset(va)


def validation_size(task: TaskSpec) -> int:
    return task.val_size or VAL_SIZE


def validation_split(task: TaskSpec, train: Split, seed: int = 0) -> tuple[Split, Split]:
    """(train, validation) of a task's official train split: the one definition every caller uses."""
    return train_val_split(train, seed=seed, val_size=validation_size(task))


def cached_split(path: Path, build: Callable[[], Split]) -> Split:
    """A generated split stored at `path` (.npz), built and written atomically on first use: rendering synthetic
    handwriting takes minutes, and a twin trained beside may read the file while this process writes it."""
    if path.is_file():
        with np.load(path) as z:
            return Split(z["images"], z["labels"])
    split = build()
    save_arrays_atomic(path, images=split.images, labels=split.labels)
    return split
