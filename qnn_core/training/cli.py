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

from qnn_core.cli_args import MODELS, OneLineParser, deprecated_alias, positive_int, whole_number
from qnn_core.devices import add_device
from qnn_core.models.hybrid import ModelConfig
from qnn_core.models.quantum import CIRCUIT_PATHS
from qnn_core.tasks import TASKS, get_task
from qnn_core.training.config import ConfigError, TrainConfig
from qnn_core.training.distributed import launched_by_torchrun, record
from qnn_core.training.loop import run
from qnn_core.training.plan import MIXES, Plan, plan, resumed_plan
from qnn_core.training.resume import config_from_record, load_resume

# argparse destination -> TrainConfig field, for the flags whose value goes straight into the config.
FIELDS = {
    "epochs": "epochs",
    "seed": "seed",
    "lr": "lr",
    "batch_size": "batch_size",
    "qubits": "n_qubits",
    "depth": "q_depth",
    "subset": "subset",
    "max_batches": "max_batches",
    "data_root": "data_root",
    "download": "download",
    "threads": "threads",
    "source": "source",
    "mix": "mix",
    "init": "init",
    "augment": "augment",
    "cutmix": "cutmix",
    "swa": "swa",
    "freeze_backbone": "freeze_backbone",
    "train_limit": "train_limit",
    "views": "views",
    "device": "device",
    "amp": "amp",
    "circuit_path": "circuit_path",
}


def non_negative_int(text: str) -> int:
    return whole_number(
        text,
        0,
        "expected 0 or a whole number above it, got {text!r}",
        "expected 0 or a whole number above it, got {value}",
    )


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
    p.add_argument("--epochs", type=positive_int, help="default: the registry's budget")
    p.add_argument(
        "--model",
        choices=MODELS,
        default="hybrid",
        help="train the hybrid, its classical-only twin, or (handwriting tasks) the quantum-bottleneck "
        "model on the shipped hybrid's frozen backbone, or that one's matched classical twin "
        "(default %(default)s)",
    )
    deprecated_alias(p, "--no-quantum", "model", "--model classical", const="classical")
    p.add_argument("--checkpoint", help=argparse.SUPPRESS)  # the other commands' flag: refused with a pointer
    p.add_argument("--seed", type=int)
    p.add_argument("--lr", type=float, help="peak learning rate (default 3e-3)")
    p.add_argument("--batch-size", type=positive_int, help="default 128")
    p.add_argument("--qubits", type=positive_int, help="default 8")
    p.add_argument("--depth", type=positive_int, help="circuit depth (default 3)")
    p.add_argument("--subset", type=positive_int, help="train on the first N training images, validate on a slice")
    p.add_argument("--max-batches", type=positive_int, help="stop each epoch after N batches")
    p.add_argument("--data-root")
    p.add_argument(
        "--download",
        action="store_true",
        default=None,
        help="let torchvision fetch missing data (needs internet; tasks it can fetch)",
    )
    p.add_argument("--threads", type=positive_int)
    p.add_argument("--source", help="another data set of the task, e.g. emnist for letters (with --data-root)")
    p.add_argument(
        "--mix",
        choices=MIXES,
        help="stroke tasks (letters): synthetic + real writers, or only one of them (default mixed)",
    )
    p.add_argument("--init", help="fine-tune from this checkpoint; kept unless validation improves")
    p.add_argument(
        "--augment",
        help="pixel tasks: augmentation kind instead of the registry's, e.g. "
        "handwriting+elastic, handwriting+render, garment+erase (augment.py)",
    )
    p.add_argument(
        "--cutmix",
        type=float,
        metavar="P",
        help="pixel tasks: CutMix a share P (0 to 1) of every batch's images: a box of another image "
        "pasted in, the target both labels by area (default 0, off)",
    )
    p.add_argument(
        "--swa",
        action="store_true",
        default=None,
        help="stochastic weight averaging: constant --lr, weights averaged over the epochs (kept unless "
        "validation prefers a single epoch's)",
    )
    p.add_argument(
        "--freeze-backbone", action="store_true", default=None, help="pretrained backbones: train the heads only"
    )
    p.add_argument("--train-limit", type=positive_int, help="use the first N (shuffled) training images")
    p.add_argument(
        "--views",
        type=non_negative_int,
        help="pretrained backbones: cached crop + mirror copies of "
        "each training image (default: the registry's photo_views)",
    )
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
    p.add_argument(
        "--circuit-path",
        choices=CIRCUIT_PATHS,
        help="how training simulates the circuit: fused (default; exact, differentiable, fast) or tq "
        "(TorchQuantum gate by gate, the definition, for teaching)",
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
    given = {name: getattr(a, dest) for dest, name in FIELDS.items() if getattr(a, dest) is not None}
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
