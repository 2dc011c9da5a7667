"""The pixel pipeline: a small ResNet trained from scratch on the images, augmented afresh every batch.

Its batches are exactly the ones the trainer always drew (one shuffled order per epoch from the run's
generator, then the augmentation from the same generator), so a seed reproduces a shipped checkpoint's run.
With the "render" augmentation, the images' renderings as people's pictures are made (or read from their
cache) before the first epoch (data/rendered.py); each batch then draws one of them per image.
"""

from __future__ import annotations

import torch

from qnn_core.data.rendered import rendered_views
from qnn_core.data.split import Split
from qnn_core.inference.batch import predict_logits
from qnn_core.models.hybrid import RESNET_SHAPE, HybridNet
from qnn_core.preprocess.augment import augment, cutmix, renders
from qnn_core.preprocess.tensor import normalise, to_input
from qnn_core.tasks import TaskSpec
from qnn_core.training.config import TrainConfig
from qnn_core.training.pipeline import COMMON, Pipeline, recompute_batchnorm

BN_BATCH = 500


class Pixels(Pipeline):
    honours = COMMON | {
        "augment",
        "cutmix",
        "model.entangle",
        "model.circuit_trainable",
        "model.matched",
        *(f"model.{name}" for name in RESNET_SHAPE),
    }
    refuses = {
        "freeze_backbone": "is for pretrained backbones; {task} trains its resnet backbone from scratch",
        "views": "is for cached features of a pretrained backbone; {task} augments its pixels every batch (--augment)",
        "model.tuned_stages": "is for the efficientnet_lite0 backbone; {task} trains a resnet from scratch",
    }

    def __init__(
        self, cfg: TrainConfig, task: TaskSpec, model: HybridNet, train: Split, val: Split, quiet: bool = False
    ) -> None:
        super().__init__(cfg, task, model, train, val, quiet)
        self.images, self.labels = to_input(train.images), torch.as_tensor(train.labels)
        self.val_images = val.images
        self.kind = cfg.augment or task.augment
        self.rendered = None
        if renders(self.kind):
            self.rendered = torch.from_numpy(rendered_views(train.images, task, cfg.seed, quiet=quiet))

    def batch(self, model: HybridNet, idx: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        rendered = None
        if self.rendered is not None:
            view = torch.randint(len(self.rendered), (len(idx),), generator=g)
            rendered = to_input(self.rendered[view, idx])
        x, y = augment(self.kind, self.images[idx], g, rendered), self.labels[idx]
        if self.cfg.cutmix:  # soft targets; no draws from g without it, so older runs reproduce
            x, y = cutmix(x, y, self.task.num_classes, g, self.cfg.cutmix)
        return model(self.to_device(normalise(x, self.task.input))), self.to_device(y)

    def val_logits(self, model: HybridNet) -> torch.Tensor:
        return predict_logits(model, self.task, self.val_images)

    def refresh_batchnorm(self, model: HybridNet) -> None:
        batches = (
            self.to_device(normalise(self.images[i : i + BN_BATCH], self.task.input))
            for i in range(0, len(self.images), BN_BATCH)
        )
        recompute_batchnorm(model, model.backbone, batches)
