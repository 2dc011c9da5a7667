"""Which device a command runs its models on: one spelling (`--device`, `$QNN_DEVICE`) for every command.

`auto` means CUDA when torch sees a GPU, else the CPU; `cuda`, `cuda:N`, `mps` and `cpu` are taken as
asked, and asking for one that is not there is a one-line error rather than a silent fall back to the CPU
(a user who typed `--device cuda` wants to know that the GPU is not being used). Checking a spelling needs
no torch, so the jobs CLI and the Training page validate without importing it.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
AMP_CHOICES = ("off", "bf16")
_SPELLING = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


class DeviceError(ValueError):
    """A device that is misspelt or not present on this machine: one sentence."""


def check_spelling(spec: str) -> str:
    """`spec` if it is one of DEVICE_CHOICES (cuda:N with a number); raises DeviceError otherwise."""
    if not isinstance(spec, str) or not _SPELLING.fullmatch(spec):
        raise DeviceError(f"Device must be one of {', '.join(DEVICE_CHOICES)} (got {spec!r}).")
    return spec


def resolve(spec: str = "auto") -> torch.device:
    """The torch device `spec` names on this machine; DeviceError if it is not present."""
    import torch

    check_spelling(spec)
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {spec}: torch sees no CUDA GPU on this machine (use cpu or auto).")
        index = int(spec.split(":")[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise DeviceError(f"--device {spec}: this machine has {torch.cuda.device_count()} CUDA device(s).")
        return torch.device("cuda", index)
    if spec == "mps" and not torch.backends.mps.is_available():
        raise DeviceError("--device mps: Apple's Metal backend is not available on this machine.")
    return torch.device(spec)


def serving_spec() -> str:
    """The app's device: $QNN_DEVICE, default auto."""
    return check_spelling(os.environ.get("QNN_DEVICE", "auto").strip() or "auto")


def _spelling(text: str) -> str:
    try:
        return check_spelling(text)
    except DeviceError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


# Why the commands that reproduce shipped numbers stay on the CPU unless told otherwise.
REPRODUCE_NOTE = (
    "the shipped figures were measured on the CPU and reproduce exactly there; on CUDA a few images "
    "may come out differently (other kernels, other rounding)"
)


def add_device(p: argparse.ArgumentParser, default: str = "auto", amp: bool = False) -> None:
    """`--device auto|cpu|cuda|cuda:N|mps` (and `--amp off|bf16` for commands that train)."""
    note = f"; {REPRODUCE_NOTE}" if default == "cpu" else ""
    p.add_argument(
        "--device",
        type=_spelling,
        default=default,
        metavar="|".join(DEVICE_CHOICES),
        help=f"where the model runs: auto picks CUDA when present (default %(default)s{note})",
    )
    if amp:
        p.add_argument(
            "--amp",
            choices=AMP_CHOICES,
            default="off",
            help="CUDA only: bf16 mixed precision for the backbone; the circuit stays complex64 (default %(default)s)",
        )


def module_device(module: torch.nn.Module) -> torch.device:
    """Where a model's weights are (inputs go there, outputs come back to the CPU for numpy)."""
    return next(module.parameters()).device


def describe(device: torch.device) -> str:
    """'cpu' or 'cuda:0 (NVIDIA H200)': what a log line or a card says about where a run ran."""
    import torch

    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)
