"""A second opinion for "none of these?": does the backbone's own ImageNet classifier see an animal at all?

A six-class softmax must name one of its classes, and it can be confident about a cup of coffee. The
pretrained EfficientNet-Lite0 still has its 1000-class ImageNet head, whose classes 0-397 are animals
(tench ... pufferfish) and 398-999 objects, scenes and food. The share of probability it puts on
animals is a cheap out-of-distribution score. Both thresholds are calibrated on the
validation split (`qnn_core.evaluation.ood_calibration`) and stored in the checkpoint's metadata.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import nn

from qnn_core.models.backbones import efficientnet_lite0

IMAGENET_ANIMALS = slice(0, 398)
# Share of validation images (all animals) that the animal-share threshold may flag.
ANIMAL_MISS_RATE = 0.05
# Share of correctly classified validation images that the top-probability threshold may flag.
UNSURE_MISS_RATE = 0.05


class ImageNetHead(nn.Module):
    """The pretrained stages after the cut + ImageNet classifier, reading the shared frozen trunk's activations."""

    def __init__(self, cut: int) -> None:
        super().__init__()
        m = efficientnet_lite0()
        self.net = nn.Sequential(*m.blocks[cut:], m.conv_head, m.bn2, m.global_pool, m.classifier).eval()

    @torch.no_grad()
    def animal_share(self, trunk: torch.Tensor, batch_size: int = 500) -> np.ndarray:
        device = next(self.net.parameters()).device
        out = [
            torch.softmax(self.net(trunk[i : i + batch_size].float().to(device)), 1)[:, IMAGENET_ANIMALS].sum(1).cpu()
            for i in range(0, len(trunk), batch_size)
        ]
        return torch.cat(out).numpy()


@lru_cache(maxsize=2)
def imagenet_head(cut: int, device: str = "cpu") -> ImageNetHead:
    """The pretrained stages from `cut` on, for trunk activations cut there (the model's backbone.cut), built
    on `device` once: the shared copy is never moved by a caller."""
    return ImageNetHead(cut).to(device)


def photo_animal_share(model, prepared) -> float:
    """ImageNet's probability that a prepared photo shows some animal (any of its 398 animal classes)."""
    device = next(model.parameters()).device
    trunk = model.backbone.trunk_features(prepared.tensor.to(device))
    return float(imagenet_head(model.backbone.cut, str(device)).animal_share(trunk)[0])


def calibrate_unsure(probs: np.ndarray, labels: np.ndarray, miss_rate: float = UNSURE_MISS_RATE) -> dict:
    """Top-probability threshold below which a page says "none of these?", from validation predictions.

    It is the `miss_rate` quantile of the top probability over correctly classified images, so it
    flags that share of right answers; the share of wrong answers it flags is recorded with it.
    """
    top, pred = probs.max(1), probs.argmax(1)
    right = pred == labels
    threshold = float(np.quantile(top[right], miss_rate))
    return {
        "unsure_below": round(threshold, 4),
        "unsure_flags_right": round(float((top[right] < threshold).mean()), 4),
        "unsure_flags_wrong": round(float((top[~right] < threshold).mean()), 4) if (~right).any() else None,
        "unsure_calibrated_on": "validation",
    }
