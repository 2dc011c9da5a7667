"""What one training run is asked to do: a frozen config, never changed in place.

The trainer works on a copy (`dataclasses.replace`) with its defaults filled in, so a caller's config means
the same after `train()` as before it, and can be reused for the next run. Which of these fields a run
*asked for* (a flag typed, or a value other than the default) is what the plan checks against what the
chosen pipeline and the task can honour.
"""

from __future__ import annotations

from dataclasses import fields
from types import MappingProxyType

from qnn_core.settings import TrainConfig, default_of, flag_name, flagged_fields

__all__ = ["ConfigError", "TrainConfig", "asked_for", "flag"]


class ConfigError(ValueError):
    """A run that cannot be done as asked: one sentence naming the flag and why (the CLI's usage error)."""


# The command-line flag that sets each field, where it is not simply --field-name.
FLAGS = MappingProxyType(
    {
        **{f.name: flag_name(f) for f in flagged_fields()},
        "quantum": "--model",
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


def asked_for(cfg: TrainConfig) -> frozenset[str]:
    """The fields a config sets to other than their defaults; model fields as 'model.<name>'."""
    names = {f.name for f in fields(cfg) if f.name not in ("task", "model") and getattr(cfg, f.name) != default_of(f)}
    return frozenset(names | {f"model.{k}" for k in cfg.model})
