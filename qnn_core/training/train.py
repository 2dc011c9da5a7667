"""The trainer's public face: `TrainConfig`, `train` and the `qnn train` command.

One loop (loop.py) trains both kinds of model: a resnet on pixels (pixels.py) and a pretrained backbone on
its cached trunk activations (features.py). plan.py checks a config against what the chosen pipeline and
the task can honour before anything runs; cli.py is the command line. Callers import from here.
"""

from __future__ import annotations

import sys

from qnn_core.training.cli import main, parse_args
from qnn_core.training.config import ConfigError, TrainConfig
from qnn_core.training.loop import ProgressFn, build_model, finish, library_versions, train

__all__ = [
    "ConfigError",
    "ProgressFn",
    "TrainConfig",
    "build_model",
    "finish",
    "library_versions",
    "main",
    "parse_args",
    "train",
]

if __name__ == "__main__":
    sys.exit(main())
