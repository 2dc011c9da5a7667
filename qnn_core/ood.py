"""A second opinion for "none of these?": does the backbone's own ImageNet classifier see an animal at all?

A six-class softmax must name one of its classes, and it can be confident about a cup of coffee. The
pretrained EfficientNet-Lite0 still has its 1000-class ImageNet head, whose classes 0-397 are animals
(tench ... pufferfish) and 398-999 objects, scenes and food. The share of probability it puts on
animals is a cheap out-of-distribution score. Its threshold is calibrated on the validation split
(all animals), like the top-probability one:

    python -m qnn_core.ood --task animals   # writes animal_share_below into the task's checkpoints

It also re-derives each checkpoint's top-probability threshold (unsure_below) from validation predictions
made the way the app makes them, so a change of inference (test-time mirroring) needs no retraining.
"""
from __future__ import annotations

import argparse
import sys
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from .backbones import efficientnet_lite0

IMAGENET_ANIMALS = slice(0, 398)
# Share of validation images (all animals) that the animal-share threshold may flag.
ANIMAL_MISS_RATE = 0.05


class ImageNetHead(nn.Module):
    """The pretrained stages after the cut + ImageNet classifier, reading the shared frozen trunk's activations."""

    def __init__(self, cut: int) -> None:
        super().__init__()
        m = efficientnet_lite0()
        self.net = nn.Sequential(*m.blocks[cut:], m.conv_head, m.bn2, m.global_pool, m.classifier).eval()

    @torch.no_grad()
    def animal_share(self, trunk: torch.Tensor, batch_size: int = 500) -> np.ndarray:
        out = [torch.softmax(self.net(trunk[i:i + batch_size].float()), 1)[:, IMAGENET_ANIMALS].sum(1)
               for i in range(0, len(trunk), batch_size)]
        return torch.cat(out).numpy()


@lru_cache(maxsize=2)
def imagenet_head(cut: int) -> ImageNetHead:
    """The pretrained stages from `cut` on, for trunk activations cut there (the model's backbone.cut)."""
    return ImageNetHead(cut)


def photo_animal_share(model, prepared) -> float:
    """ImageNet's probability that a prepared photo shows some animal (any of its 398 animal classes)."""
    return float(imagenet_head(model.backbone.cut).animal_share(model.backbone.trunk_features(prepared.tensor))[0])


def calibrate(task_name: str) -> dict:
    """The animal-share threshold from the validation split's cached trunk activations."""
    from .backbones import EfficientNetLite0Features
    from .data import VAL_SIZE, load_split, train_val_indices
    from .features import trunk_features
    from .tasks import get_task

    task = get_task(task_name)
    full = load_split(task, "train")
    _, va = train_val_indices(len(full), seed=0, val_size=task.val_size or VAL_SIZE)
    backbone = EfficientNetLite0Features(tuned_stages=task.tuned_stages)
    share = imagenet_head(backbone.cut).animal_share(trunk_features(backbone, full.images[va], task.input))
    threshold = float(np.quantile(share, ANIMAL_MISS_RATE))
    return {"animal_share_below": round(threshold, 4), "animal_share_val_median": round(float(np.median(share)), 4),
            "animal_share_calibrated_on": f"validation ({len(va)} images)"}


def served_unsure(model, task) -> dict:
    """The "none of these?" top-probability threshold from the validation split, predicted as served."""
    from .data import load_train_val
    from .evaluate import predict_logits
    from .train_features import calibrate_unsure

    val = load_train_val(task)[1]
    return calibrate_unsure(torch.softmax(predict_logits(model, task, val.images), 1).numpy(), val.labels)


def main(argv: list[str] | None = None) -> int:
    from .checkpoint import load_checkpoint, save_checkpoint
    from .tasks import get_task

    p = argparse.ArgumentParser(prog="python -m qnn_core.ood", description=__doc__.split("\n")[0])
    p.add_argument("--task", default="animals")
    a = p.parse_args(argv)
    values = calibrate(a.task)
    print(values)
    for quantum in (True, False):
        path = get_task(a.task).checkpoint(quantum)
        if path.is_file():
            model, meta = load_checkpoint(path)
            unsure = served_unsure(model, get_task(a.task))
            print(path.name, unsure)
            save_checkpoint(model, {**meta, **values, **unsure}, path)
            print(f"updated {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
