"""What the one training loop asks of the data side of a run, and the parts both pipelines share.

A pipeline turns the task's training images into batches for the model (pixels, augmented on the fly; or
a pretrained trunk's cached activations), says which parameters train, and gives validation logits exactly
as the app would serve them. The loop (loop.py) does everything else once for both: optimiser, schedule,
SWA, --init, epoch records, checkpoints, the meta record. Each pipeline declares the config fields it can
honour, so a flag it cannot is refused before any work starts (plan.py), never silently dropped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from qnn_core.data.loaders import load_train_val
from qnn_core.data.split import Split
from qnn_core.devices import module_device
from qnn_core.models.hybrid import HybridNet
from qnn_core.tasks import TaskSpec
from qnn_core.training.config import TrainConfig

# Fields every pipeline honours; whether --download, --source and --mix apply is the task's business (plan.py).
COMMON = frozenset(
    {
        "epochs",
        "quantum",
        "seed",
        "lr",
        "batch_size",
        "weight_decay",
        "label_smoothing",
        "n_qubits",
        "q_depth",
        "subset",
        "max_batches",
        "data_root",
        "download",
        "threads",
        "source",
        "mix",
        "init",
        "swa",
        "train_limit",
        "model.classical_dim",
        "model.dropout",
        "device",
        "amp",
        "circuit_path",
    }
)
BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class Pipeline(ABC):
    """The data side of a run. Built after the model (and after --init weights are loaded into it)."""

    honours: ClassVar[frozenset[str]]
    epochs: ClassVar[int | None] = None  # the pipeline's own default budget, else the registry's
    # Why a field it does not honour cannot apply, as the second half of a usage error ("{flag} ...").
    refuses: ClassVar[dict[str, str]]

    def __init__(
        self, cfg: TrainConfig, task: TaskSpec, model: HybridNet, train: Split, val: Split, quiet: bool = False
    ) -> None:
        self.cfg, self.task = cfg, task
        self.train_size = len(train)
        self.val_labels: np.ndarray = val.labels
        self.device = module_device(model)  # the model is moved before its pipeline is built

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        """A CPU batch onto the model's device, through pinned memory on CUDA so the copy overlaps compute."""
        if self.device.type == "cuda":
            return x.pin_memory().to(self.device, non_blocking=True)
        return x.to(self.device)

    @classmethod
    def resolve(cls, cfg: TrainConfig, task: TaskSpec) -> TrainConfig:
        """The config with this pipeline's own defaults filled in (what the checkpoint records)."""
        return cfg

    def parameters(self, model: HybridNet) -> list[nn.Parameter]:
        """What the optimiser trains: everything not frozen (a pretrained trunk, a --freeze-backbone tail)."""
        return [p for p in model.parameters() if p.requires_grad]

    def train_mode(self, model: HybridNet) -> None:
        model.train()

    @abstractmethod
    def batch(self, model: HybridNet, idx: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, labels) of the training images `idx`, augmented with `g`, in train mode."""

    @abstractmethod
    def val_logits(self, model: HybridNet) -> torch.Tensor:
        """Validation logits as served (a mirrored pair averaged where the task says so)."""

    def kept_record(self, val_logits: torch.Tensor) -> dict:
        """Metadata that belongs to a set of kept weights (e.g. a threshold calibrated on their predictions)."""
        return {}

    @abstractmethod
    def refresh_batchnorm(self, model: HybridNet) -> None:
        """Give (averaged) weights BatchNorm statistics of their own, from the un-augmented training images."""

    def describe(self) -> dict:
        """What the meta record says about the input side beyond the common fields."""
        return {}


def load_splits(cfg: TrainConfig, task: TaskSpec) -> tuple[Split, Split]:
    """(train, validation) of a run: the task's validation split (data.split.validation_split, through
    load_train_val), then --train-limit and --subset, the one place that slices them."""
    train, val = load_train_val(task, cfg.data_root, cfg.download, cfg.mix)
    if cfg.train_limit:  # the first N of the (shuffled) training images: a random subset
        train = train.subset(slice(0, cfg.train_limit))
    if cfg.subset:
        train = train.subset(slice(0, cfg.subset))
        val = val.subset(slice(0, max(200, cfg.subset // 10)))
    return train, val


@torch.no_grad()
def recompute_batchnorm(
    model: nn.Module, forward: Callable[[torch.Tensor], object], batches: Iterable[torch.Tensor]
) -> None:
    """torch.optim.swa_utils.update_bn restricted to the BatchNorm layers that training changed: their running
    statistics become the plain average over `batches`. A frozen pretrained part keeps its ImageNet statistics."""
    layers = [
        m for m in model.modules() if isinstance(m, BATCHNORMS) and m.weight is not None and m.weight.requires_grad
    ]
    if not layers:
        return
    momenta = {m: m.momentum for m in layers}
    was_training = model.training
    model.train()
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average
    for x in batches:
        forward(x)
    for m, momentum in momenta.items():
        m.momentum = momentum
    model.train(was_training)
