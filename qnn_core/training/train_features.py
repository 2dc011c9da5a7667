"""Training on top of a pretrained backbone, from its cached trunk activations.

The frozen trunk runs once per image (features.py caches it); each epoch then runs only the last
stages (fine-tuned unless --freeze-backbone) and the classical/quantum heads, which takes minutes
on a CPU. Pixel-space augmentation survives the cache as a few fixed random views per image
(`photo_views`), extracted once like the originals; each epoch draws one version of every image.
Validation comes from the train split; the checkpoint kept is the best on validation.
The "none of these?" threshold is calibrated on validation too, never on test or holdout photos.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from qnn_core.data.loaders import data_files, load_split
from qnn_core.data.split import VAL_SIZE, train_val_indices
from qnn_core.fileio import sha256_of_files
from qnn_core.inference.batch import mirrored
from qnn_core.inference.ood import calibrate_unsure
from qnn_core.models.checkpoint import save_checkpoint
from qnn_core.models.trunk_cache import logits_from_trunk, trunk_features
from qnn_core.tasks import get_task

# Share of correctly classified validation images that the "none of these?" note may flag.


def crop_flip(images: np.ndarray, rng: np.random.Generator, pad: int = 4) -> np.ndarray:
    """CIFAR's standard augmentation on uint8 (N, H, W, 3) images: a random crop of the image padded by `pad`
    (mirrored edges), then mirrored left-right half the time. Done before the frozen trunk, so it can be cached."""
    n, h, w, _ = images.shape
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    dy, dx = rng.integers(0, 2 * pad + 1, (2, n))
    rows, cols = dy[:, None] + np.arange(h), dx[:, None] + np.arange(w)
    out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    flip = rng.random(n) < 0.5
    out[flip] = out[flip, :, ::-1]
    return out


def flip_augment(f: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Mirror half of the activation maps left-right: a cheap stand-in for mirrored photos."""
    flip = torch.rand(len(f), generator=g) < 0.5
    f = f.clone()
    f[flip] = f[flip].flip(-1)
    return f


@torch.no_grad()
def pooled(backbone, trunk: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The frozen backbone's pooled output for cached trunk activations."""
    backbone.eval()
    return torch.cat([backbone.from_trunk(trunk[i:i + batch_size]) for i in range(0, len(trunk), batch_size)])


@torch.no_grad()
def head_logits(model, features: torch.Tensor) -> torch.Tensor:
    model.eval()
    return model.fuse(*model.branches_from_features(features))[0]


def train_on_features(cfg, out: str | Path, progress=None, quiet: bool = False) -> dict:
    from qnn_core.training.train import build_model, finish, library_versions, record_epoch, run_epoch

    task = get_task(cfg.task)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    epochs = cfg.epochs or task.epochs
    full = load_split(task, "train", cfg.data_root)
    tr_idx, va_idx = train_val_indices(len(full), seed=0, val_size=task.val_size or VAL_SIZE)
    if cfg.train_limit:  # the first N of the (shuffled) training images: a random subset
        tr_idx = tr_idx[:cfg.train_limit]
    if cfg.subset:
        tr_idx, va_idx = tr_idx[:cfg.subset], va_idx[:max(200, cfg.subset // 10)]
    model = build_model(task, cfg)
    backbone = model.backbone
    views = task.photo_views if cfg.views is None else cfg.views
    cfg.views = views
    va_images = full.images[va_idx]
    va_views = [va_images] + [mirrored(va_images)] * task.test_time_mirror  # as served
    f_va = [trunk_features(backbone, v, task.input, desc=f"{task.name} validation features", quiet=quiet)
            for v in va_views]
    rng = np.random.default_rng(cfg.seed)  # the views are reproducible, so a rerun finds them in the cache
    versions = [full.images[tr_idx]] + [crop_flip(full.images[tr_idx], rng) for _ in range(views)]
    f_tr = torch.stack([trunk_features(backbone, v, task.input, quiet=quiet,
                                       desc=f"{task.name} train features" + (f", view {k}/{views}" if k else ""))
                        for k, v in enumerate(versions)])  # (versions, N, C, h, w)
    y_tr, y_va = torch.as_tensor(full.labels[tr_idx]), full.labels[va_idx]
    if cfg.freeze_backbone or not any(p.requires_grad for p in backbone.parameters()):
        cfg.freeze_backbone = True  # the backbone's output is fixed: pool it once, then only the heads train
        backbone.requires_grad_(False)
        f_tr, f_va = torch.stack([pooled(backbone, f) for f in f_tr]), [pooled(backbone, f) for f in f_va]
    features_of = (lambda f: f) if cfg.freeze_backbone else backbone.from_trunk
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = -(-len(y_tr) // cfg.batch_size)
    if cfg.max_batches:
        steps = min(steps, cfg.max_batches)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=epochs * steps, pct_start=0.2)
    g = torch.Generator().manual_seed(cfg.seed)
    meta = {"task": task.name, "classes": list(task.classes), "quantum": cfg.quantum, "seed": cfg.seed, "epochs": epochs,
            "train_config": {k: v for k, v in vars(cfg).items() if k != "model"}, "backbone": task.backbone,
            "input": {"size": task.input.size, "native": task.input.native},
            "train_size": len(y_tr), "val_size": len(y_va),
            "train_data_sha256": sha256_of_files(list(data_files(task, "train", cfg.data_root))),
            "versions": library_versions(), "history": [], "val_accuracy": 0.0}
    best, start = -1.0, time.time()
    for epoch in range(1, epochs + 1):
        model.train()
        if cfg.freeze_backbone:
            backbone.eval()
        order = torch.randperm(len(y_tr), generator=g)

        def forward(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            if views:  # one version of each image: the original or one of its crop + mirror views
                f = f_tr[torch.randint(len(f_tr), (len(idx),), generator=g), idx]
            else:
                f = f_tr[0, idx] if cfg.freeze_backbone else flip_augment(f_tr[0, idx], g)
            return model.fuse(*model.branches_from_features(features_of(f)))[0], y_tr[idx]

        stats = run_epoch(f"{task.name} epoch {epoch}/{epochs}", epoch, order, steps, cfg, forward, opt, sched,
                          progress, quiet)
        val_logits = torch.stack([head_logits(model, f) if cfg.freeze_backbone else logits_from_trunk(model, f)[0]
                                  for f in f_va]).mean(0)  # the mirrored pair averaged, if the task serves it so
        val_acc = float((val_logits.argmax(1).numpy() == y_va).mean())
        record_epoch(meta, {"epoch": epoch, **stats, "val_acc": val_acc}, progress, quiet)
        if val_acc > best:
            best = val_acc
            meta.update(val_accuracy=val_acc, best_epoch=epoch,
                        **calibrate_unsure(torch.softmax(val_logits, 1).numpy(), y_va))
            save_checkpoint(model, {**meta, "train_time_s": round(time.time() - start, 1)}, out)
    return finish(out, train_time_s=time.time() - start, measure_test=not cfg.subset, data_root=cfg.data_root)

