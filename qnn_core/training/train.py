"""Train a task's hybrid (or classical-only) model on its real data.

    python -m qnn_core.train --task mnist [--epochs N] [--no-quantum] [--seed S] [--out PATH]

Validation comes from the train split; the checkpoint kept is the best on
validation. The test split is measured once at the end, for the record only.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from qnn_core import __version__
from qnn_core.data.loaders import data_files, load_split, load_train_val
from qnn_core.data.split import Split
from qnn_core.fileio import sha256_of_files
from qnn_core.inference.batch import accuracy
from qnn_core.models.checkpoint import load_checkpoint, save_checkpoint
from qnn_core.models.hybrid import HybridNet, ModelConfig
from qnn_core.preprocess.augment import AUGMENTATIONS, EXTRAS, augment, augment_kind_known
from qnn_core.preprocess.tensor import normalise, to_input
from qnn_core.tasks import TaskSpec, get_task


@dataclass
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
    subset: int | None = None  # train on the first N training images only (quick demos, tests)
    max_batches: int | None = None  # stop each epoch after N batches (tests)
    data_root: str | None = None
    download: bool = False
    threads: int | None = None
    source: str | None = None  # another of the task's data sets (tasks.py `sources`), e.g. "emnist"
    mix: str = "mixed"  # stroke tasks: "mixed" (synthetic + real), "synthetic" or "real"
    init: str | None = None  # start from this checkpoint's weights (fine-tuning); kept unless validation improves
    augment: str | None = None  # None: the registry's augmentation kind (augment.py)
    model: dict = field(default_factory=dict)  # extra ModelConfig fields
    # Pretrained backbones: also keep the last stage frozen (train the heads only).
    freeze_backbone: bool = False
    train_limit: int | None = None  # pretrained backbones: the first N shuffled training images (extraction budget)
    views: int | None = None  # pretrained backbones: crop + mirror copies per training image (None: the registry's)
    # Stochastic weight averaging: constant lr, the weights averaged after every epoch; the average is kept
    # unless a single epoch's (or the --init) weights beat it on validation.
    swa: bool = False


def build_model(task: TaskSpec, cfg: TrainConfig) -> HybridNet:
    torch.manual_seed(cfg.seed)  # seeds the backbone and the circuit's initial parameters alike
    extra = {"backbone": task.backbone, "tuned_stages": task.tuned_stages, **cfg.model}
    return HybridNet(ModelConfig(in_channels=task.input.channels, num_classes=task.num_classes, quantum=cfg.quantum,
                                 n_qubits=cfg.n_qubits, q_depth=cfg.q_depth, **extra))


def library_versions() -> dict:
    import torchquantum

    return {"python": platform.python_version(), "torch": str(torch.__version__), "torchquantum": str(torchquantum.__version__),
            "numpy": str(np.__version__), "qnn_core": __version__}


ProgressFn = Callable[[dict], None]


def run_epoch(desc: str, epoch: int, order: torch.Tensor, steps: int, cfg: TrainConfig,
              forward: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]], opt, sched,
              progress: ProgressFn | None, quiet: bool) -> dict:
    """One optimiser pass; forward(batch indices) -> (logits, labels). Returns the epoch's loss, accuracy, speed."""
    t0, seen, loss_sum, correct = time.time(), 0, 0.0, 0
    bar = tqdm(range(steps), desc=desc, disable=quiet, file=sys.stderr)
    for step in bar:
        logits, y = forward(order[step * cfg.batch_size:(step + 1) * cfg.batch_size])
        loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        seen += len(y)
        loss_sum += loss.item() * len(y)
        correct += int((logits.argmax(1) == y).sum())
        if step % 20 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.4f}")
            if progress:
                progress({"event": "batch", "epoch": epoch, "step": step + 1, "steps": steps,
                          "loss": loss_sum / seen, "train_acc": correct / seen,
                          "images_per_s": seen / (time.time() - t0)})
    epoch_time = time.time() - t0
    return {"loss": loss_sum / seen, "train_acc": correct / seen, "epoch_time_s": round(epoch_time, 1),
            "images_per_s": round(seen / epoch_time, 1)}


def record_epoch(meta: dict, record: dict, progress: ProgressFn | None, quiet: bool) -> None:
    meta["history"].append(record)
    if not quiet:
        print(json.dumps(record), file=sys.stderr)
    if progress:
        progress({"event": "epoch", **record})


def train(cfg: TrainConfig, out: str | Path, progress: ProgressFn | None = None, quiet: bool = False) -> dict:
    """Train, keep the best-on-validation weights at `out`, return the metadata written with them."""
    task = get_task(cfg.task).with_source(cfg.source)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.model.get("backbone", task.backbone) != "resnet":  # a pretrained backbone: train on its cached activations
        from qnn_core.training.train_features import train_on_features

        return train_on_features(cfg, out, progress, quiet)
    epochs = cfg.epochs or task.epochs
    train_split, val_split = load_train_val(task, cfg.data_root, cfg.download, cfg.mix)
    if cfg.subset:
        train_split = train_split.subset(slice(0, cfg.subset))
        val_split = val_split.subset(slice(0, max(200, cfg.subset // 10)))
    if cfg.init:  # fine-tuning keeps the backbone shape it starts from (--blocks need not be repeated)
        init_model, init_meta = load_checkpoint(cfg.init)
        cfg.model = {"widths": init_model.config.widths, "blocks": init_model.config.blocks, **cfg.model}
    model = build_model(task, cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = -(-len(train_split) // cfg.batch_size)
    if cfg.max_batches:
        steps_per_epoch = min(steps_per_epoch, cfg.max_batches)
    if cfg.swa:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
        averaged = torch.optim.swa_utils.AveragedModel(model)
    else:
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=epochs * steps_per_epoch,
                                                    pct_start=0.2)
    g = torch.Generator().manual_seed(cfg.seed)
    images = to_input(train_split.images)
    labels = torch.as_tensor(train_split.labels)
    try:
        data_sha = sha256_of_files(list(data_files(task, "train", cfg.data_root)))
    except FileNotFoundError:
        data_sha = None
    meta = {"task": task.name, "classes": list(task.classes), "quantum": cfg.quantum, "seed": cfg.seed,
            "epochs": epochs, "train_config": {k: v for k, v in vars(cfg).items() if k != "model"},
            "train_size": len(train_split), "val_size": len(val_split), "train_data_sha256": data_sha,
            "versions": library_versions(), "history": [], "val_accuracy": 0.0}
    best = -1.0
    start = time.time()
    if cfg.init:  # fine-tuning: the starting weights are the ones to beat on validation
        model.load_state_dict(init_model.state_dict())
        best = accuracy(model, task, val_split)
        meta.update(val_accuracy=best, best_epoch=0, init_val_accuracy=best,
                    init_meta={k: init_meta[k] for k in ("history", "epochs", "best_epoch", "train_config", "train_size",
                                                         "train_time_s", "val_accuracy", "init_val_accuracy", "swa", "init_meta")
                                   if k in init_meta})
        save_checkpoint(model, {**meta, "train_time_s": 0.0}, out)
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(labels), generator=g)

        def forward(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return model(normalise(augment(cfg.augment or task.augment, images[idx], g), task.input)), labels[idx]

        stats = run_epoch(f"{task.name} epoch {epoch}/{epochs}", epoch, order, steps_per_epoch, cfg, forward, opt, sched,
                          progress, quiet)
        val_acc = accuracy(model, task, val_split)
        record_epoch(meta, {"epoch": epoch, **stats, "val_acc": val_acc}, progress, quiet)
        if val_acc > best:
            best = val_acc
            meta.update(val_accuracy=val_acc, best_epoch=epoch)
            save_checkpoint(model, {**meta, "train_time_s": round(time.time() - start, 1)}, out)
        if cfg.swa:
            averaged.update_parameters(model)
    if cfg.swa:
        keep_average(averaged, images, task, val_split, meta, best, out, start, quiet)
    return finish(out, train_time_s=time.time() - start, measure_test=not cfg.subset, data_root=cfg.data_root,
                  download=cfg.download, record={"swa": meta["swa"]} if cfg.swa else None)


def keep_average(averaged: torch.optim.swa_utils.AveragedModel, images: torch.Tensor, task: TaskSpec,
                 val_split: Split, meta: dict, best: float, out: str | Path, start: float, quiet: bool) -> None:
    """Give the averaged weights BatchNorm statistics of their own, then keep them unless validation prefers
    one of the single weights (a tie goes to the average: the flatter minimum, and the point of SWA)."""
    model = averaged.module
    batches = (normalise(images[i:i + 500], task.input) for i in range(0, len(images), 500))
    torch.optim.swa_utils.update_bn(batches, model)
    model.eval()
    val_acc = accuracy(model, task, val_split)
    meta["swa"] = {"averaged_epochs": int(averaged.n_averaged), "val_acc": val_acc, "best_single_val_acc": best}
    if not quiet:
        print(json.dumps({"swa": meta["swa"]}), file=sys.stderr)
    if val_acc >= best:
        meta.update(val_accuracy=val_acc, best_epoch="swa")
        save_checkpoint(model, {**meta, "train_time_s": round(time.time() - start, 1)}, out)


def finish(out: str | Path, train_time_s: float | None = None, measure_test: bool = True,
           data_root: str | None = None, download: bool = False, record: dict | None = None) -> dict:
    """Record (never choose by) the official test accuracy of the kept weights, in their checkpoint; `record`
    adds what the run learnt whichever weights it kept (e.g. what the SWA average scored)."""
    model, meta = load_checkpoint(out)
    meta.update(record or {})
    if train_time_s is not None:
        meta["train_time_s"] = round(train_time_s, 1)
    if measure_test:
        task = get_task(meta["task"]).with_source(meta["train_config"].get("source"))
        test = load_split(task, "test", data_root, download)
        meta.update(test_accuracy=accuracy(model, task, test), test_size=len(test),
                    test_time_mirror=task.test_time_mirror)  # how test_accuracy was measured
    save_checkpoint(model, meta, out)
    return meta


def parse_blocks(text: str) -> tuple[int, ...] | None:
    """'1,2,2' -> (1, 2, 2): residual blocks per stage of the resnet backbone; None if malformed."""
    try:
        blocks = tuple(int(n) for n in text.split(","))
    except ValueError:
        return None
    return blocks if len(blocks) == len(ModelConfig.widths) and min(blocks) >= 1 else None


def parse_args(argv: list[str] | None = None) -> tuple[TrainConfig, Path]:
    p = argparse.ArgumentParser(prog="python -m qnn_core.train", description=__doc__.split("\n")[0])
    p.add_argument("--task", required=True)
    p.add_argument("--epochs", type=int)
    p.add_argument("--no-quantum", action="store_true", help="classical-only ablation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--qubits", type=int, default=8)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--subset", type=int)
    p.add_argument("--max-batches", type=int)
    p.add_argument("--data-root")
    p.add_argument("--download", action="store_true", help="let torchvision fetch missing data (needs internet)")
    p.add_argument("--threads", type=int)
    p.add_argument("--source", help="another data set of the task, e.g. emnist for letters (with --data-root)")
    p.add_argument("--mix", default="mixed", choices=["mixed", "synthetic", "real"],
                   help="stroke tasks (letters): synthetic + real writers, or only one of them")
    p.add_argument("--init", help="fine-tune from this checkpoint; kept unless validation improves")
    p.add_argument("--augment", help="augmentation kind instead of the registry's, e.g. handwriting+elastic, "
                                     "garment+erase (augment.py)")
    p.add_argument("--swa", action="store_true", help="stochastic weight averaging: constant --lr, weights "
                                                      "averaged over the epochs (kept unless validation prefers "
                                                      "a single epoch's)")
    p.add_argument("--freeze-backbone", action="store_true", help="pretrained backbones: train the heads only")
    p.add_argument("--train-limit", type=int, help="pretrained backbones: use the first N (shuffled) training images")
    p.add_argument("--views", type=int, help="pretrained backbones: cached crop + mirror copies of each training "
                                             "image (default: the registry's photo_views)")
    p.add_argument("--tuned-stages", type=int, help="efficientnet_lite0: fine-tune this many last stages "
                                                    "(default: the registry's)")
    p.add_argument("--resnet18-weights", help="photo tasks: torchvision resnet18 backbone with this local ImageNet "
                                              "state_dict file instead of the task's backbone (kept frozen)")
    p.add_argument("--blocks", help="resnet backbone: residual blocks per stage, e.g. 1,2,2 (default: the model's)")
    p.add_argument("--out", help="checkpoint path (default: the task's shipped checkpoint path)")
    a = p.parse_args(argv)
    if a.augment and not augment_kind_known(a.augment):
        p.error(f"unknown augmentation {a.augment!r}: one of {', '.join(AUGMENTATIONS)}, then optional "
                f"+{' +'.join(EXTRAS)}")
    blocks = parse_blocks(a.blocks) if a.blocks else None
    if a.blocks and blocks is None:
        p.error(f"--blocks wants {len(ModelConfig.widths)} positive integers, one per stage, e.g. 1,2,2; not {a.blocks!r}")
    task = get_task(a.task)
    cfg = TrainConfig(task=a.task, epochs=a.epochs, quantum=not a.no_quantum, seed=a.seed, lr=a.lr,
                      batch_size=a.batch_size, n_qubits=a.qubits, q_depth=a.depth, subset=a.subset,
                      max_batches=a.max_batches, data_root=a.data_root, download=a.download, threads=a.threads,
                      source=a.source, mix=a.mix, init=a.init, augment=a.augment, swa=a.swa,
                      freeze_backbone=a.freeze_backbone, train_limit=a.train_limit, views=a.views,
                      model={**({"backbone": "resnet18", "backbone_weights": a.resnet18_weights} if a.resnet18_weights
                                else {}),
                             **({"tuned_stages": a.tuned_stages} if a.tuned_stages else {}),
                             **({"blocks": blocks} if blocks else {})})
    return cfg, Path(a.out) if a.out else task.checkpoint(cfg.quantum)


def main(argv: list[str] | None = None) -> int:
    cfg, out = parse_args(argv)
    meta = train(cfg, out)
    print(json.dumps({k: meta.get(k) for k in ("task", "quantum", "val_accuracy", "test_accuracy", "train_time_s")}))
    print(f"saved {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
