"""What one training run is asked to do: a frozen config, never changed in place.

The trainer works on a copy (`dataclasses.replace`) with its defaults filled in, so a caller's config means
the same after `train()` as before it, and can be reused for the next run. Which of these fields a run
*asked for* (a flag typed, or a value other than the default) is what the plan checks against what the
chosen pipeline and the task can honour.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from types import MappingProxyType
from typing import Any


class ConfigError(ValueError):
    """A run that cannot be done as asked: one sentence naming the flag and why (the CLI's usage error)."""


@dataclass(frozen=True)
class TrainConfig:
    task: str
    epochs: int | None = None  # None: the registry's budget
    quantum: bool = True
    seed: int = 0
    lr: float = 3e-3
    batch_size: int = 128
    weight_decay: float = 5e-4
    label_smoothing: float = 0.05
    n_qubits: int = 8
    q_depth: int = 3
    subset: int | None = None  # train on the first N training images only, validate on a slice (quick demos, tests)
    max_batches: int | None = None  # stop each epoch after N batches (tests)
    data_root: str | None = None
    download: bool = False
    threads: int | None = None
    source: str | None = None  # another of the task's data sets (tasks.py `sources`), e.g. "emnist"
    mix: str = "mixed"  # stroke tasks: "mixed" (synthetic + real), "synthetic" or "real"
    init: str | None = None  # start from this checkpoint's weights (fine-tuning); kept unless validation improves
    augment: str | None = None  # pixels: None is the registry's augmentation kind (augment.py)
    cutmix: float = 0.0  # pixels: the share of each batch's images given a box of another's (augment.cutmix)
    model: dict = field(default_factory=dict)  # extra ModelConfig fields (blocks, tuned_stages, backbone, ...)
    # Pretrained backbones: also keep the last stages frozen (train the heads only).
    freeze_backbone: bool = False
    train_limit: int | None = None  # the first N (shuffled) training images; validation stays whole
    views: int | None = None  # cached features: crop + mirror copies per training image (None: the registry's)
    # Stochastic weight averaging: constant lr, the weights averaged after every epoch; the average is kept
    # unless a single epoch's (or the --init) weights beat it on validation.
    swa: bool = False
    device: str = "auto"  # devices.resolve: auto is CUDA when present
    amp: str = "off"  # "bf16": mixed precision for the backbone on CUDA (the circuit stays complex64)
    circuit_path: str = "fused"  # models.quantum.CIRCUIT_PATHS: "tq" runs TorchQuantum gate by gate (teaching)

    def record(self) -> dict[str, Any]:
        """The config as the checkpoint's `train_config` records it (the model fields live in its `config`)."""
        return {k: v for k, v in asdict(self).items() if k != "model"}


# The command-line flag that sets each field, where it is not simply --field-name.
FLAGS = MappingProxyType(
    {
        "quantum": "--model",
        "n_qubits": "--qubits",
        "q_depth": "--depth",
        "model.blocks": "--blocks",
        "model.tuned_stages": "--tuned-stages",
        "model.head": "--model",
        "model.backbone": "--resnet18-weights",
        "model.backbone_weights": "--resnet18-weights",
    }
)


def flag(name: str) -> str:
    """The flag a user types for a config field ('train_limit' -> '--train-limit'; 'model.blocks' -> '--blocks')."""
    return FLAGS.get(name) or "--" + name.split(".")[-1].replace("_", "-")


def _default(f) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default


def asked_for(cfg: TrainConfig) -> frozenset[str]:
    """The fields a config sets to other than their defaults; model fields as 'model.<name>'."""
    names = {f.name for f in fields(cfg) if f.name not in ("task", "model") and getattr(cfg, f.name) != _default(f)}
    return frozenset(names | {f"model.{k}" for k in cfg.model})
