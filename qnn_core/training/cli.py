"""`qnn train`: train a task's hybrid (or classical-only) model on its real data.

    qnn train --task mnist [--epochs N] [--model classical] [--seed S] [--out PATH]
    qnn train --resume checkpoints/mnist_hybrid.resume.pt [--threads N]

A flag the run cannot honour (a pixel augmentation on cached features, --mix on a task without stroke
data, ...) is a one-line usage error with exit status 2, before anything is loaded: never silently dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from qnn_core.cli_args import MODELS, OneLineParser, positive_int
from qnn_core.devices import add_device
from qnn_core.models.hybrid import ModelConfig
from qnn_core.settings import add_setting_flags, flagged_fields
from qnn_core.tasks import TASKS, get_task
from qnn_core.training.config import ConfigError, TrainConfig
from qnn_core.training.distributed import launched_by_torchrun, record
from qnn_core.training.loop import run
from qnn_core.training.plan import Plan, plan, resumed_plan
from qnn_core.training.resume import config_from_record, load_resume


def parse_blocks(text: str) -> tuple[int, ...] | None:
    """'1,2,2' -> (1, 2, 2): residual blocks per stage of the resnet backbone; None if malformed."""
    try:
        blocks = tuple(int(n) for n in text.split(","))
    except ValueError:
        return None
    return blocks if len(blocks) == len(ModelConfig.widths) and min(blocks) >= 1 else None


def parser() -> OneLineParser:
    p = OneLineParser(prog="qnn train", description="Train a task's hybrid (or classical-only) model on its real data.")
    p.add_argument("--task", choices=list(TASKS), help="required unless --resume")
    p.add_argument(
        "--model",
        choices=MODELS,
        default="hybrid",
        help="train the hybrid, its classical-only twin, or (handwriting tasks) the quantum-bottleneck "
        "model on the shipped hybrid's frozen backbone, or that one's matched classical twin "
        "(default %(default)s)",
    )
    p.add_argument("--checkpoint", help=argparse.SUPPRESS)  # the other commands' flag: refused with a pointer
    add_setting_flags(p)  # every TrainConfig field that has a flag (qnn_core/settings.py)
    p.add_argument(
        "--tuned-stages",
        type=positive_int,
        help="efficientnet_lite0: fine-tune this many last stages (default: the registry's)",
    )
    p.add_argument(
        "--resnet18-weights",
        help="photo tasks: torchvision resnet18 backbone with this local ImageNet "
        "state_dict file instead of the task's backbone (kept frozen)",
    )
    p.add_argument("--blocks", help="resnet backbone: residual blocks per stage, e.g. 1,2,2 (default: the model's)")
    p.add_argument(
        "--preact",
        action="store_true",
        default=None,
        help="resnet backbone: pre-activation residual blocks (BN -> ReLU -> conv)",
    )
    p.add_argument(
        "--out",
        help="checkpoint path (default: the task's shipped checkpoint path); its resume file "
        "<stem>.resume.pt is written beside it after every epoch",
    )
    p.add_argument(
        "--resume",
        metavar="FILE",
        help="go on with a stopped run from its resume file, exactly as it "
        "would have gone on (only --threads may be added)",
    )
    add_device(p, amp=True)
    p.set_defaults(device=None, amp=None)  # unset: the config's own defaults (auto, off), not an asked-for value
    return p


def parse(argv: list[str] | None = None) -> tuple[Plan, TrainConfig, Path]:
    """(the checked plan, the config as asked, the output path); a usage error exits with status 2."""
    return parse_run(argv)[:3]


def parse_run(argv: list[str] | None = None) -> tuple[Plan, TrainConfig, Path, dict | None]:
    """parse(), and the contents of the resume file a run goes on from (None for a new run)."""
    p = parser()
    a = p.parse_args(argv)
    if a.resume:
        return parse_resume(p, a)
    if a.task is None:
        p.error("the following arguments are required: --task (or --resume FILE)")
    if a.checkpoint:
        p.error(
            "--checkpoint names a model to load; to train from a checkpoint's weights use --init PATH, "
            "and --out PATH for where the trained one goes"
        )
    blocks = parse_blocks(a.blocks) if a.blocks else None
    if a.blocks and blocks is None:
        p.error(
            f"--blocks wants {len(ModelConfig.widths)} positive integers, one per stage, e.g. 1,2,2; not {a.blocks!r}"
        )
    model = {
        **({"backbone": "resnet18", "backbone_weights": a.resnet18_weights} if a.resnet18_weights else {}),
        **({"tuned_stages": a.tuned_stages} if a.tuned_stages else {}),
        **({"blocks": blocks} if blocks else {}),
        **({"preact": True} if a.preact else {}),
    }
    named = [f.name for f in flagged_fields()] + ["device", "amp"]
    given = {name: getattr(a, name) for name in named if getattr(a, name) is not None}
    if a.model.startswith("bottleneck"):
        model["head"] = "bottleneck"
    cfg = TrainConfig(task=a.task, quantum=a.model in ("hybrid", "bottleneck"), model=model, **given)
    try:
        checked = plan(cfg, asked=frozenset(given))
    except ConfigError as err:
        p.error(str(err))
    return checked, cfg, Path(a.out) if a.out else get_task(a.task).model_checkpoint(a.model), None


def parse_resume(p: OneLineParser, a: argparse.Namespace) -> tuple[Plan, TrainConfig, Path, dict]:
    """The plan, config and output of the run a resume file continues, and the file's contents."""
    defaults = vars(p.parse_args(["--task", "mnist"]))
    typed = sorted(
        k
        for k, v in vars(a).items()
        if k not in ("resume", "threads") and v != defaults[k] and not (k == "task" and v is None)
    )
    if typed:
        p.error(
            f"--resume goes on with the run exactly as it was asked, so --{typed[0].replace('_', '-')} cannot "
            "be given with it (start a new run, or one that starts from its checkpoint with --init)"
        )
    try:
        state = load_resume(a.resume, world_size=int(os.environ.get("WORLD_SIZE", "1")))
        cfg = config_from_record(state["config"])
        if a.threads:
            cfg = replace(cfg, threads=a.threads)
        checked = resumed_plan(cfg, state["epochs"])
    except ConfigError as err:
        p.error(str(err))
    return checked, cfg, Path(state["out"]), state


def parse_args(argv: list[str] | None = None) -> tuple[TrainConfig, Path]:
    """The config a command line asks for, checked, and where its checkpoint goes."""
    _, cfg, out = parse(argv)
    return cfg, out


def main(argv: list[str] | None = None) -> int:
    if launched_by_torchrun():  # a failed rank's traceback then reaches the torchrun agent's summary
        return record(_main)(argv)
    return _main(argv)


def _main(argv: list[str] | None) -> int:
    checked, _, out, state = parse_run(argv)
    meta = run(checked, out, resume=state)
    if int(os.environ.get("RANK", "0")):  # under torchrun only rank 0 speaks for the run
        return 0
    print(json.dumps({k: meta.get(k) for k in ("task", "quantum", "val_accuracy", "test_accuracy", "train_time_s")}))
    print(f"saved {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
