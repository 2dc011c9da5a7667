"""`qnn`: the one command, with a subcommand per job (`qnn train`, `qnn predict`, `qnn jobs submit`, ...).

Each subcommand is the `main(argv)` of the module that owns it, imported only when it is asked for, so that
`qnn --help` and `qnn jobs list` do not pay for torch or TorchQuantum. The same table serves the console
script, `python -m qnn_core` and `torchrun ... -m qnn_core train ...` (data-parallel training).
"""

from __future__ import annotations

import importlib
import sys

from qnn_core import __version__

# name -> (module whose main(argv) runs it, one line for `qnn --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": (
        "qnn_core.training.train",
        "train a task's model (hybrid, classical twin, bottleneck) and write its card",
    ),
    "evaluate": ("qnn_core.evaluation.evaluate", "accuracy of a checkpoint on a split, optionally with shots or noise"),
    "predict": ("qnn_core.cli.predict", "classify image files: one JSON line per file"),
    "read": ("qnn_core.sequence.read", "read a line of handwriting: a phone number or a word"),
    "report": ("qnn_core.evaluation.report", "re-measure the shipped checkpoints; rewrite the cards and tables"),
    "ood": ("qnn_core.evaluation.ood_calibration", "calibrate a model's \"I'm not sure\" rule on validation"),
    "ablation": ("qnn_core.evaluation.ablation", "does the quantum layer help? fair controls, several seeds"),
    "curves": ("qnn_core.evaluation.readout_curves", "accuracy against shots and noise, for the Results page"),
    "sequence-eval": ("qnn_core.sequence.eval", "measure line reading on composed phone numbers and words"),
    "sequence-tune": ("qnn_core.sequence.tune", "choose the line reader's settings on validation lines"),
    "photo-eval": ("qnn_core.evaluation.photo_eval", "measure a photo task on a folder of real photos"),
    "jobs": ("qnn_core.jobs.cli", "background training jobs: submit, list, show, cancel, logs, use, revert"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {about}" for name, (_, about) in COMMANDS.items()]
    return "\n".join(
        [
            "usage: qnn [--version] COMMAND [ARGS ...]",
            "",
            "Hybrid quantum-classical image classifier. Commands:",
            *lines,
            "",
            "`qnn COMMAND --help` describes one command's flags.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    if args[0] == "--version":
        print(f"qnn {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"qnn: error: unknown command {name!r} (choose from {', '.join(COMMANDS)})", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)
