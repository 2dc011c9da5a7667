"""The training settings, declared once: `TrainConfig`'s fields carry their flag, help and parser.

`qnn train` generates its flags from these fields, and a training job's parameters (`jobs/params.py`) reuse
the same fields under the same names, because a job is a training run with a queue around it. The help
text states each default from the field itself, so a default is never written twice. This module imports
no torch: the jobs CLI and the Training page read it, and serving must not import training code.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, replace
from typing import Any

from qnn_core.cli_args import positive_int, whole_number
from qnn_core.tasks import CIRCUIT_PATHS

MIXES = ("mixed", "synthetic", "real")  # stroke tasks: synthetic + real writers, or only one of them


def non_negative_int(text: str) -> int:
    return whole_number(
        text,
        0,
        "expected 0 or a whole number above it, got {text!r}",
        "expected 0 or a whole number above it, got {value}",
    )


@dataclass(frozen=True)
class Flag:
    """How one setting is typed on a command line."""

    help: str
    flag: str | None = None  # default: --field-name
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    switch: bool = False  # a store_true flag: typing it sets True
    unset: str | None = None  # what a default of None means, for the help ("the registry's budget")


def setting(default: Any, help: str, **how: Any) -> Any:
    """A config field with its command-line flag (see Flag)."""
    return field(default=default, metadata={"flag": Flag(help=help, **how)})


def flag_of(f: Field) -> Flag | None:
    return f.metadata.get("flag")


def flag_name(f: Field) -> str:
    how = flag_of(f)
    return (how.flag if how and how.flag else None) or "--" + f.name.replace("_", "-")


@dataclass(frozen=True)
class TrainConfig:
    """What one training run is asked to do: frozen, never changed in place (the trainer works on a copy)."""

    task: str
    epochs: int | None = setting(None, "epochs", type=positive_int, unset="the registry's budget")
    quantum: bool = True  # set by --model
    seed: int = setting(0, "random seed", type=int)
    lr: float = setting(3e-3, "peak learning rate", type=float)
    batch_size: int = setting(128, "images per optimiser step", type=positive_int)
    weight_decay: float = 5e-4
    label_smoothing: float = 0.05
    n_qubits: int = setting(8, "qubits of the circuit", flag="--qubits", type=positive_int)
    q_depth: int = setting(3, "circuit depth (trainable layers)", flag="--depth", type=positive_int)
    subset: int | None = setting(
        None, "train on the first N training images, validate on a slice (quick demos)", type=positive_int
    )
    max_batches: int | None = setting(None, "stop each epoch after N batches", type=positive_int)
    data_root: str | None = setting(None, "folder of the task's data set instead of the shared one")
    download: bool = setting(
        False, "let torchvision fetch missing data (needs internet; tasks it can fetch)", switch=True
    )
    threads: int | None = setting(None, "torch threads", type=positive_int, unset="torch's choice")
    source: str | None = setting(None, "another data set of the task, e.g. emnist for letters (with --data-root)")
    mix: str = setting("mixed", "stroke tasks: synthetic + real writers, or only one of them", choices=MIXES)
    init: str | None = setting(None, "fine-tune from this checkpoint; kept unless validation improves", metavar="PATH")
    augment: str | None = setting(
        None,
        "pixel tasks: augmentation kind instead of the registry's, e.g. handwriting+elastic, handwriting+render, "
        "garment+erase (preprocess/augment.py)",
    )
    cutmix: float = setting(
        0.0,
        "pixel tasks: CutMix a share P of every batch's images (a box of another image pasted in, the target both "
        "labels by area; 0 is off)",
        type=float,
        metavar="P",
    )
    model: dict = field(default_factory=dict)  # extra ModelConfig fields (blocks, tuned_stages, backbone, ...)
    freeze_backbone: bool = setting(False, "pretrained backbones: train the heads only", switch=True)
    train_limit: int | None = setting(None, "use the first N (shuffled) training images", type=positive_int)
    views: int | None = setting(
        None,
        "pretrained backbones: cached crop + mirror copies of each training image",
        unset="the registry's",
        type=non_negative_int,
    )
    # Stochastic weight averaging: the average is kept unless a single epoch's (or the --init) weights beat it.
    swa: bool = setting(
        False,
        "stochastic weight averaging: constant --lr, weights averaged over the epochs (kept unless validation "
        "prefers a single epoch's)",
        switch=True,
    )
    device: str = "auto"  # --device (devices.add_device, shared by every command)
    amp: str = "off"  # --amp (devices.add_device)
    circuit_path: str = setting(
        "fused",
        "how training simulates the circuit: fused (exact, differentiable, fast) or tq (TorchQuantum gate by gate, "
        "the definition, for teaching)",
        choices=CIRCUIT_PATHS,
    )

    def record(self) -> dict[str, Any]:
        """The config as the checkpoint's `train_config` records it (the model fields live in its `config`)."""
        return {k: v for k, v in asdict(self).items() if k != "model"}


def default_of(f: Field) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default


def flagged_fields(cls: type = TrainConfig, names: Iterable[str] | None = None) -> list[Field]:
    """The fields of `cls` that have a flag, in declaration order (only `names`, when given)."""
    wanted = set(names) if names is not None else None
    return [f for f in fields(cls) if flag_of(f) and (wanted is None or f.name in wanted)]


def add_setting_flags(
    parser: argparse.ArgumentParser, cls: type = TrainConfig, names: Iterable[str] | None = None, unset: bool = True
) -> None:
    """One flag per flagged field of `cls`, its help ending with the field's default.

    `unset=True` leaves an untyped flag None, so that the caller knows what was asked for (the trainer checks
    each asked-for flag against what the run can honour); otherwise the flag defaults to the field's value.
    """
    for f in flagged_fields(cls, names):
        how = flag_of(f)
        default = default_of(f)
        said = how.unset if default is None else f"{default:g}" if isinstance(default, float) else str(default)
        # a switch's default is off, and None without an `unset` means no limit: nothing worth saying
        text = how.help if said is None or isinstance(default, bool) else f"{how.help} (default {said})"
        kwargs: dict[str, Any] = {"dest": f.name, "help": text}
        if how.switch:
            kwargs.update(action="store_true", default=None if unset else default)
        else:
            kwargs.update(default=None if unset else default)
            if how.metavar is None and any(how.type is whole for whole in (int, positive_int, non_negative_int)):
                kwargs["metavar"] = "N"
            for key in ("type", "choices", "metavar"):
                if getattr(how, key) is not None:
                    kwargs[key] = getattr(how, key)
        parser.add_argument(flag_name(f), **kwargs)


def same_setting(name: str, default: Any, **changes: Any) -> Any:
    """A field of another dataclass (a job's parameters) that is TrainConfig's setting `name`, with the same flag
    and help, and its own default; `changes` replace parts of the flag (a job's --subset takes 0 for all)."""
    how = flag_of(next(f for f in fields(TrainConfig) if f.name == name))
    assert how is not None, f"TrainConfig.{name} has no flag"
    return field(default=default, metadata={"flag": replace(how, **changes) if changes else how})
