"""The cached-features pipeline: a pretrained backbone's frozen trunk runs once per image, then only its last
stages (fine-tuned unless --freeze-backbone) and the classical/quantum heads train, in minutes on a CPU.

The trunk's activations come from the disk cache (models.trunk_cache). Pixel-space augmentation survives the
cache as a few fixed random crop + mirror views per image (`photo_views`, --views), extracted once like the
originals; each epoch draws one version of every image. With no views, half the activation maps are mirrored
instead. The "none of these?" threshold is calibrated on the validation predictions of the kept weights,
never on test or holdout photos.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from torch import nn

from qnn_core.data.split import Split
from qnn_core.inference.batch import served_views
from qnn_core.inference.ood import calibrate_unsure
from qnn_core.models.hybrid import RESNET_SHAPE, HybridNet
from qnn_core.models.trunk_cache import logits_from_trunk, trunk_features
from qnn_core.tasks import TaskSpec
from qnn_core.training.config import TrainConfig
from qnn_core.training.pipeline import COMMON, Pipeline, recompute_batchnorm

FROZEN_BACKBONES = ("resnet18",)  # nothing of them is trained here: their pooled output is cached and fixed
BATCH = 500


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
def pooled(backbone: nn.Module, trunk: torch.Tensor, batch_size: int = BATCH) -> torch.Tensor:
    """The frozen backbone's pooled output for cached trunk activations."""
    backbone.eval()
    device = next(backbone.parameters()).device
    return torch.cat(
        [backbone.from_trunk(trunk[i : i + batch_size].to(device)).cpu() for i in range(0, len(trunk), batch_size)]
    )


@torch.no_grad()
def head_logits(model: HybridNet, features: torch.Tensor) -> torch.Tensor:
    """Logits of the heads alone, from pooled backbone features (on the CPU)."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat(
        [
            model.fuse(*model.branches_from_features(features[i : i + BATCH].to(device)))[0].cpu()
            for i in range(0, len(features), BATCH)
        ]
    )


class CachedFeatures(Pipeline):
    honours = COMMON | {"freeze_backbone", "views", "model.tuned_stages", "model.backbone", "model.backbone_weights"}
    refuses = {
        "augment": "cannot apply to {task}: it trains on cached activations of a pretrained trunk, so a pixel "
        "augmentation never reaches it; its crop + mirror views are set with --views N",
        "cutmix": "cannot apply to {task}: it trains on cached activations of a pretrained trunk, not on pixels",
        **{
            f"model.{name}": "is for the resnet backbone trained from scratch; {task} uses a pretrained backbone"
            for name in RESNET_SHAPE
        },
    }

    @classmethod
    def resolve(cls, cfg: TrainConfig, task: TaskSpec) -> TrainConfig:
        backbone = cfg.model.get("backbone", task.backbone)
        return replace(
            cfg,
            views=task.photo_views if cfg.views is None else cfg.views,
            freeze_backbone=cfg.freeze_backbone or backbone in FROZEN_BACKBONES,
        )

    def __init__(
        self, cfg: TrainConfig, task: TaskSpec, model: HybridNet, train: Split, val: Split, quiet: bool = False
    ) -> None:
        super().__init__(cfg, task, model, train, val, quiet)
        backbone = model.backbone
        self.views, self.frozen = cfg.views, cfg.freeze_backbone
        va_views = served_views(task, val.images)
        f_va = [
            trunk_features(backbone, v, task.input, desc=f"{task.name} validation features", quiet=quiet)
            for v in va_views
        ]
        rng = np.random.default_rng(cfg.seed)  # the views are reproducible, so a rerun finds them in the cache
        versions = [train.images] + [crop_flip(train.images, rng) for _ in range(self.views)]
        f_tr = None  # (versions, N, C, h, w), filled view by view: a stack of a list would hold every view twice
        for k, v in enumerate(versions):
            f = trunk_features(
                backbone,
                v,
                task.input,
                quiet=quiet,
                desc=f"{task.name} train features" + (f", view {k}/{self.views}" if k else ""),
            )
            if f_tr is None:
                f_tr = torch.empty((len(versions), *f.shape), dtype=f.dtype)
            f_tr[k] = f
        if self.frozen:  # the backbone's output is fixed: pool it once (with any --init weights), then only heads train
            backbone.requires_grad_(False)
            f_tr, f_va = torch.stack([pooled(backbone, f) for f in f_tr]), [pooled(backbone, f) for f in f_va]
        self.f_tr, self.f_va = f_tr, f_va
        self.labels = torch.as_tensor(train.labels)

    def train_mode(self, model: HybridNet) -> None:
        model.train()
        if self.frozen:
            model.backbone.eval()

    def _features(self, model: HybridNet, f: torch.Tensor) -> torch.Tensor:
        return f if self.frozen else model.backbone.from_trunk(f)

    def batch(self, model: HybridNet, idx: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        if self.views:  # one version of each image: the original or one of its crop + mirror views
            f = self.f_tr[torch.randint(len(self.f_tr), (len(idx),), generator=g), idx]
        else:
            f = self.f_tr[0, idx] if self.frozen else flip_augment(self.f_tr[0, idx], g)
        f = self.to_device(f)
        return model.fuse(*model.branches_from_features(self._features(model, f)))[0], self.to_device(self.labels[idx])

    def val_logits(self, model: HybridNet) -> torch.Tensor:
        return torch.stack(
            [head_logits(model, f) if self.frozen else logits_from_trunk(model, f)[0] for f in self.f_va]
        ).mean(0)  # the mirrored pair averaged, if the task serves it so

    def kept_record(self, val_logits: torch.Tensor) -> dict:
        return calibrate_unsure(torch.softmax(val_logits, 1).numpy(), self.val_labels)

    def refresh_batchnorm(self, model: HybridNet) -> None:
        if self.frozen:  # pooled features: no BatchNorm runs in training
            return
        originals = self.f_tr[0]
        recompute_batchnorm(
            model,
            model.backbone.from_trunk,
            (self.to_device(originals[i : i + BATCH]) for i in range(0, len(originals), BATCH)),
        )

    def describe(self) -> dict:
        return {
            "backbone": self.task.backbone,
            "input": {"size": self.task.input.size, "native": self.task.input.native},
        }
