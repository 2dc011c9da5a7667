"""The one training loop, for pixels and cached features alike.

AdamW with a one-cycle schedule (or, with --swa, a constant lr and the weights averaged after every epoch);
after each epoch the validation accuracy decides whether the weights are kept, and kept weights are written
at once, atomically; then the resume file (resume.py) is written, from which --resume goes on. --init
starts from a checkpoint's weights, which are the ones to beat. At the end the official test accuracy of
the kept weights is recorded, never used to choose. Validation comes from the train split
(data.split.validation_split).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from qnn_core import __version__
from qnn_core.data.loaders import data_files, has_split, load_split
from qnn_core.devices import describe, resolve
from qnn_core.fileio import sha256_of_files
from qnn_core.inference.batch import accuracy
from qnn_core.models.checkpoint import load_checkpoint, save_checkpoint
from qnn_core.models.hybrid import HybridNet
from qnn_core.tasks import TaskSpec, get_task
from qnn_core.training import distributed
from qnn_core.training.config import TrainConfig
from qnn_core.training.pipeline import Pipeline, load_splits
from qnn_core.training.plan import Plan, model_config, plan
from qnn_core.training.resume import restore_rng, resume_path, rng_states, save_resume

ProgressFn = Callable[[dict], None]
# What a continued run keeps of the run it started from (the model card lists every run of a chain).
INIT_META_KEYS = (
    "history",
    "epochs",
    "best_epoch",
    "train_config",
    "train_size",
    "train_time_s",
    "val_accuracy",
    "init_val_accuracy",
    "swa",
    "init_meta",
)


def build_model(task: TaskSpec, cfg: TrainConfig) -> HybridNet:
    torch.manual_seed(cfg.seed)  # seeds the backbone and the circuit's initial parameters alike
    model = HybridNet(model_config(task, cfg))
    if cfg.quantum:  # how the circuit is simulated; both paths compute the same circuit (tests/models)
        model.quantum.circuit_path = cfg.circuit_path
    return model


def library_versions() -> dict:
    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        # the installed version, without importing TorchQuantum (its qiskit plugins warn at import time)
        "torchquantum": metadata.version("torchquantum"),
        "numpy": str(np.__version__),
        "qnn_core": __version__,
    }


def train(cfg: TrainConfig, out: str | Path, progress: ProgressFn | None = None, quiet: bool = False) -> dict:
    """Train, keep the best-on-validation weights at `out`, return the metadata written with them.

    Raises ConfigError, before any data is read, if the config asks for something the run cannot honour.
    `cfg` is left as it was: the run works on a completed copy (recorded as the checkpoint's train_config).
    """
    return run(plan(cfg), out, progress, quiet)


def run(
    p: Plan, out: str | Path, progress: ProgressFn | None = None, quiet: bool = False, resume: dict | None = None
) -> dict:
    """One process's part of the run (all of it, unless torchrun started several: see distributed.py);
    `resume`, a resume file's contents (resume.load_resume), goes on from its epoch."""
    if p.cfg.threads:
        torch.set_num_threads(p.cfg.threads)
    ctx, device = distributed.start(resolve(p.cfg.device))
    try:
        return _run(p, out, ctx, device, progress if ctx.main else None, quiet or not ctx.main, resume)
    finally:
        ctx.close()


def _run(
    p: Plan,
    out: str | Path,
    ctx: distributed.Context,
    device: torch.device,
    progress: ProgressFn | None,
    quiet: bool,
    resume: dict | None,
) -> dict:
    cfg, task = p.cfg, p.task
    train_split, val_split = load_splits(cfg, task)
    init = load_checkpoint(cfg.init) if cfg.init and not resume else None  # before the model: it draws random numbers
    model = build_model(task, cfg)
    if init:  # before the pipeline, which may pool features through the starting weights
        model.load_state_dict(init[0].state_dict())
    if resume:
        model.load_state_dict(resume["model"])
    model.to(device)
    if ctx.distributed:  # the same initial weights everywhere (DDP broadcasts rank 0's), dropout per rank
        torch.manual_seed(cfg.seed + ctx.rank)
    with ctx.main_first():  # rank 0 fills any feature cache, the others then read it
        pipe = p.pipeline(cfg, task, model, train_split, val_split, quiet)
    opt = torch.optim.AdamW(pipe.parameters(model), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = -(-distributed.shard_size(ctx, pipe.train_size) // cfg.batch_size)
    if cfg.max_batches:
        steps = min(steps, cfg.max_batches)
    if cfg.swa:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
        averaged = torch.optim.swa_utils.AveragedModel(model)
    else:
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=p.epochs * steps, pct_start=0.2)
    g = torch.Generator().manual_seed(cfg.seed + ctx.rank)  # augmentation: each rank its own draws
    forward = distributed.wrap(ctx, model, lambda idx, gen: pipe.batch(model, idx, gen), device)
    meta = {
        "task": task.name,
        "classes": list(task.classes),
        "quantum": cfg.quantum,
        "seed": cfg.seed,
        "epochs": p.epochs,
        "train_config": cfg.record(),
        **pipe.describe(),
        "train_size": pipe.train_size,
        "val_size": len(val_split),
        "train_data_sha256": data_sha256(task, cfg),
        "versions": library_versions(),
        "history": [],
        "val_accuracy": 0.0,
        "device": describe(device),
        "global_batch_size": cfg.batch_size * ctx.world_size,
        **({"distributed": ctx.record()} if ctx.distributed else {}),
    }
    start, first_epoch, best = time.time(), 1, -1.0
    if resume:  # everything as it stood at the end of the resume file's epoch
        opt.load_state_dict(resume["optimizer"])
        sched.load_state_dict(resume["scheduler"])
        if cfg.swa:
            averaged.load_state_dict(resume["averaged"])
        restore_rng(ctx, resume["rng"], g)
        meta, best, first_epoch = resume["meta"], resume["best"], resume["epoch"] + 1
        meta.setdefault("resumed_after_epochs", []).append(resume["epoch"])
        start -= resume["elapsed_s"]

    def keep(weights: HybridNet, epoch: int | str, val_acc: float, val_logits: torch.Tensor) -> None:
        meta.update(val_accuracy=val_acc, best_epoch=epoch, **pipe.kept_record(val_logits))
        save_checkpoint(weights, {**meta, "train_time_s": round(time.time() - start, 1)}, out)

    if init and ctx.main:  # fine-tuning: the starting weights are the ones to beat on validation
        logits = pipe.val_logits(model)
        best = val_accuracy(logits, pipe.val_labels)
        meta.update(init_val_accuracy=best, init_meta={k: init[1][k] for k in INIT_META_KEYS if k in init[1]})
        keep(model, 0, best, logits)
    for epoch in range(first_epoch, p.epochs + 1):
        pipe.train_mode(model)
        # One process keeps the order its seed always gave, so a shipped checkpoint's run reproduces.
        order = (
            distributed.shard(ctx, pipe.train_size, epoch, cfg.seed)
            if ctx.distributed
            else torch.randperm(pipe.train_size, generator=g)
        )
        stats = run_epoch(
            f"{task.name} epoch {epoch}/{p.epochs}",
            epoch,
            order,
            steps,
            cfg,
            lambda idx: autocast_forward(forward, idx, g, device, cfg.amp),
            opt,
            sched,
            progress,
            quiet,
            ctx.world_size,
        )
        if ctx.main:
            logits = pipe.val_logits(model)
            val_acc = val_accuracy(logits, pipe.val_labels)
            record_epoch(meta, {"epoch": epoch, **stats, "val_acc": val_acc}, progress, quiet)
            if val_acc > best:
                best = val_acc
                keep(model, epoch, val_acc, logits)
        if cfg.swa:
            averaged.update_parameters(model)
        rngs = rng_states(ctx, g)  # a collective: every rank's streams reach rank 0
        if ctx.main:
            save_resume(
                resume_path(out),
                {
                    "config": asdict(cfg),
                    "epochs": p.epochs,
                    "epoch": epoch,
                    "out": str(out),
                    "best": best,
                    "elapsed_s": time.time() - start,
                    "meta": meta,
                    "rng": rngs,
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(),
                    "averaged": averaged.state_dict() if cfg.swa else None,
                },
            )
        ctx.barrier()  # the others wait while rank 0 validates, so no collective times out mid-epoch
    if not ctx.main:
        return meta
    # What the run learnt whichever weights it kept: every epoch, also those after the kept one.
    record = {k: meta[k] for k in ("history", "resumed_after_epochs") if k in meta}
    if cfg.swa:
        record["swa"] = keep_average(averaged, pipe, best, keep, quiet)
    done = finish(
        out,
        train_time_s=time.time() - start,
        measure_test=not cfg.subset,
        data_root=cfg.data_root,
        download=cfg.download,
        record=record,
    )
    resume_path(out).unlink(missing_ok=True)  # the checkpoint now holds all that is worth keeping
    return done


def autocast_forward(
    forward, idx: torch.Tensor, g: torch.Generator, device: torch.device, amp: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """The forward pass under bf16 autocast when asked (CUDA; the model keeps its circuit out of it, see
    HybridNet.quantum_features); the loss and the backward pass run outside it, as torch recommends."""
    if amp != "bf16":
        return forward(idx, g)
    with torch.autocast(device.type, dtype=torch.bfloat16):
        return forward(idx, g)


def val_accuracy(logits: torch.Tensor, labels: np.ndarray) -> float:
    return float((logits.argmax(1).numpy() == labels).mean())


def data_sha256(task: TaskSpec, cfg: TrainConfig) -> str | None:
    try:
        return sha256_of_files(list(data_files(task, "train", cfg.data_root)))
    except FileNotFoundError:  # downloaded by torchvision into its own layout
        return None


def run_epoch(
    desc: str,
    epoch: int,
    order: torch.Tensor,
    steps: int,
    cfg: TrainConfig,
    forward: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    progress: ProgressFn | None,
    quiet: bool,
    world_size: int = 1,
) -> dict:
    """One optimiser pass; forward(batch indices) -> (logits, labels or soft targets). Returns the epoch's loss and accuracy (on
    this process's shard) and the speed of the whole run (every process's images)."""
    t0, seen, loss_sum, correct = time.time(), 0, 0.0, 0
    bar = tqdm(range(steps), desc=desc, disable=quiet, file=sys.stderr)
    for step in bar:
        logits, y = forward(order[step * cfg.batch_size : (step + 1) * cfg.batch_size])
        loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        seen += len(y)
        loss_sum += loss.item() * len(y)
        correct += int((logits.argmax(1) == (y.argmax(1) if y.dim() == 2 else y)).sum())  # CutMix: the larger label
        if step % 20 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.4f}")
            if progress:
                progress(
                    {
                        "event": "batch",
                        "epoch": epoch,
                        "step": step + 1,
                        "steps": steps,
                        "loss": loss_sum / seen,
                        "train_acc": correct / seen,
                        "images_per_s": seen * world_size / (time.time() - t0),
                    }
                )
    epoch_time = time.time() - t0
    return {
        "loss": loss_sum / seen,
        "train_acc": correct / seen,
        "epoch_time_s": round(epoch_time, 1),
        "images_per_s": round(seen * world_size / epoch_time, 1),
    }


def record_epoch(meta: dict, record: dict, progress: ProgressFn | None, quiet: bool) -> None:
    meta["history"].append(record)
    if not quiet:
        print(json.dumps(record), file=sys.stderr)
    if progress:
        progress({"event": "epoch", **record})


def keep_average(
    averaged: torch.optim.swa_utils.AveragedModel,
    pipe: Pipeline,
    best: float,
    keep: Callable[[HybridNet, str, float, torch.Tensor], None],
    quiet: bool,
) -> dict:
    """Give the averaged weights BatchNorm statistics of their own, then keep them unless validation prefers
    one of the single weights (a tie goes to the average: the flatter minimum, and the point of SWA)."""
    model = averaged.module
    pipe.refresh_batchnorm(model)
    model.eval()
    logits = pipe.val_logits(model)
    val_acc = val_accuracy(logits, pipe.val_labels)
    swa = {"averaged_epochs": int(averaged.n_averaged), "val_acc": val_acc, "best_single_val_acc": best}
    if not quiet:
        print(json.dumps({"swa": swa}), file=sys.stderr)
    if val_acc >= best:
        keep(model, "swa", val_acc, logits)
    return swa


def finish(
    out: str | Path,
    train_time_s: float | None = None,
    measure_test: bool = True,
    data_root: str | None = None,
    download: bool = False,
    record: dict | None = None,
) -> dict:
    """Record (never choose by) the official test accuracy of the kept weights, in their checkpoint; `record`
    adds what the run learnt whichever weights it kept (every epoch's record, what the SWA average scored)."""
    model, meta = load_checkpoint(out)
    meta.update(record or {})
    if train_time_s is not None:
        meta["train_time_s"] = round(train_time_s, 1)
    task = get_task(meta["task"]).with_source(meta["train_config"].get("source"))
    if measure_test and task.data.val is not None and not has_split(task, "test", data_root):
        measure_test = False  # a data set whose test split is kept apart (clothes): measured elsewhere, not here
    if measure_test:
        test = load_split(task, "test", data_root, download)
        meta.update(
            test_accuracy=accuracy(model, task, test), test_size=len(test), test_time_mirror=task.test_time_mirror
        )  # how test_accuracy was measured
    save_checkpoint(model, meta, out)
    return meta
