"""The one vocabulary of command-line flags that every `qnn` subcommand uses.

A concept has one flag name everywhere: which model is loaded (`--model hybrid|classical` or
`--checkpoint PATH`), whether the quantum branch is switched off at inference (`--quantum off`), how it is
read out (`--shots N`, `--noise P`), how many images a quick run measures (`--limit N`), and machine-readable
output (`--json`). The training settings' flags are declared with the settings themselves (settings.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from qnn_core.tasks import MODEL_KINDS, TaskSpec

MODELS = MODEL_KINDS


class OneLineParser(argparse.ArgumentParser):
    """A usage error is one line on stderr (no usage block to scroll past), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_model(p: argparse.ArgumentParser, default: str = "hybrid", what: str = "load") -> None:
    """`--model hybrid|classical|...` (the task's shipped checkpoint of that kind) or `--checkpoint PATH`."""
    p.add_argument(
        "--model",
        choices=MODELS,
        default=default,
        help=f"which of the task's models to {what}: the hybrid, its classical-only twin, or the "
        "quantum-bottleneck model and its parameter-matched classical twin (default %(default)s)",
    )
    p.add_argument("--checkpoint", type=Path, help="a checkpoint file instead of the task's shipped one")


def add_quantum_switch(p: argparse.ArgumentParser) -> None:
    """`--quantum on|off`: off sets the hybrid's quantum features to zero at inference (the model is unchanged)."""
    p.add_argument(
        "--quantum",
        choices=("on", "off"),
        default="on",
        help="off: switch the hybrid's quantum branch off at inference (default %(default)s)",
    )


def add_quantum_readout(p: argparse.ArgumentParser) -> None:
    """`--shots N` (0: exact) and `--noise P`: the hybrid's <Z> estimated from N measurements, as hardware gives
    them, and/or under depolarizing noise p per qubit after each gate layer (inference/quantum_noise.py)."""
    p.add_argument(
        "--shots",
        type=shot_count,
        default=0,
        help="estimate the quantum branch's <Z> from N measurements per image, seeded (default 0: exact)",
    )
    p.add_argument(
        "--noise",
        type=probability,
        default=0.0,
        metavar="P",
        help="depolarizing probability per qubit after each gate layer, density-matrix simulation (default 0: none)",
    )


def shot_count(text: str) -> int:
    return whole_number(
        text,
        0,
        "expected a whole number of shots (0: exact), got {text!r}",
        "expected 0 (exact) or more shots, got {value}",
    )


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text!r}") from None
    if not 0 <= value <= 1:  # also refuses nan, which compares false either way
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text}")
    return value


def add_limit(p: argparse.ArgumentParser, what: str = "test images") -> None:
    """`--limit N`: measure only the first N images (quick checks)."""
    p.add_argument("--limit", type=positive_int, help=f"only the first N {what} (quick checks)")


def add_json(p: argparse.ArgumentParser, what: str = "the result") -> None:
    p.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def positive_int(text: str) -> int:
    return whole_number(
        text, 1, "expected a whole number, got {text!r}", "expected a number of at least 1, got {value}"
    )


def whole_number(text: str, low: int, not_whole: str, too_small: str) -> int:
    """`text` as an int of at least `low`, for argparse `type=`; the two messages say what a flag expects
    ({text!r}: what was typed, {value}: the number, when it is one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(not_whole.format(text=text)) from None
    if value < low:
        raise argparse.ArgumentTypeError(too_small.format(value=value))
    return value


def model_path(task: TaskSpec, a: argparse.Namespace) -> Path:
    """The checkpoint a command's `--model` / `--checkpoint` names."""
    return Path(a.checkpoint) if getattr(a, "checkpoint", None) else task.model_checkpoint(a.model)
