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

from qnn_core.inference.imagenet_groups import garment_share, other_animal, other_name
from qnn_core.models.backbones import efficientnet_lite0

IMAGENET_ANIMALS = slice(0, 398)
# Share of validation images (all animals) that the animal-share threshold may flag.
ANIMAL_MISS_RATE = 0.05
# Share of correctly classified validation images that the top-probability threshold may flag.
UNSURE_MISS_RATE = 0.05
# Share of validation photos of the six that "this looks like another animal" may newly flag.
OTHER_MISS_RATE = 0.05
# The other animal's group must hold at least this much of ImageNet's probability, whatever validation allows:
# below it the head is guessing among many groups.
MIN_OTHER_ABOVE = 0.3
# Share of validation garments that the clothes task's checks may flag as "not a garment", all rules together.
GARMENT_MISS_RATE = 0.05


class ImageNetHead(nn.Module):
    """The pretrained stages after the cut + ImageNet classifier, reading the shared frozen trunk's activations."""

    def __init__(self, cut: int) -> None:
        super().__init__()
        m = efficientnet_lite0()
        self.net = nn.Sequential(*m.blocks[cut:], m.conv_head, m.bn2, m.global_pool, m.classifier).eval()

    @torch.no_grad()
    def probs(self, trunk: torch.Tensor, batch_size: int = 500) -> np.ndarray:
        """(N, 1000) ImageNet probabilities for trunk activations."""
        device = next(self.net.parameters()).device
        out = [
            torch.softmax(self.net(trunk[i : i + batch_size].float().to(device)), 1).cpu()
            for i in range(0, len(trunk), batch_size)
        ]
        return torch.cat(out).numpy() if out else np.zeros((0, 1000), np.float32)

    def animal_share(self, trunk: torch.Tensor, batch_size: int = 500) -> np.ndarray:
        return self.probs(trunk, batch_size)[:, IMAGENET_ANIMALS].sum(1)


@lru_cache(maxsize=2)
def imagenet_head(cut: int, device: str = "cpu") -> ImageNetHead:
    """The pretrained stages from `cut` on, for trunk activations cut there (the model's backbone.cut), built
    on `device` once: the shared copy is never moved by a caller."""
    return ImageNetHead(cut).to(device)


def photo_imagenet_probs(model, prepared) -> np.ndarray:
    """The backbone's ImageNet probabilities (1000,) for a prepared photo."""
    device = next(model.parameters()).device
    trunk = model.backbone.trunk_features(prepared.tensor.to(device))
    return imagenet_head(model.backbone.cut, str(device)).probs(trunk)[0]


def photo_animal_share(model, prepared) -> float:
    """ImageNet's probability that a prepared photo shows some animal (any of its 398 animal classes)."""
    return float(photo_imagenet_probs(model, prepared)[IMAGENET_ANIMALS].sum())


def looks_like(imagenet_probs: np.ndarray, other_above: float) -> str | None:
    """The plain name of another animal than the six ("cow") when ImageNet's likeliest animal group is not one
    of them and holds at least `other_above` of its probability (calibrated on validation); None otherwise."""
    score, best = other_animal(np.asarray(imagenet_probs)[None])
    return other_name(int(best[0])) if score[0] >= other_above else None


def calibrate_other_animal(imagenet_probs: np.ndarray, already: np.ndarray, miss_rate: float = OTHER_MISS_RATE) -> dict:
    """The "another animal" threshold from validation photos of the six: the lowest that newly flags (flags
    where no other rule already did, `already`) at most `miss_rate` of them. Every validation photo is one of
    the six, so each one the rule flags is a miss."""
    score = other_animal(imagenet_probs)[0]
    fresh = np.sort(score[~already & (score > 0)])[::-1]  # scores that would be new flags, highest first
    allowed = int(np.floor(miss_rate * len(score)))
    # a threshold just above the (allowed+1)-th highest new score flags at most `allowed` of them
    threshold = float(np.nextafter(np.float32(fresh[allowed]), np.float32(2))) if len(fresh) > allowed else 0.0
    threshold = max(threshold, MIN_OTHER_ABOVE)
    flagged = score >= threshold
    return {
        "other_animal_above": round(threshold, 4),
        "other_animal_flags_val": round(float(flagged.mean()), 4),
        "other_animal_new_flags_val": round(float((flagged & ~already).mean()), 4),
        "other_animal_calibrated_on": f"validation ({len(score)} images)",
    }


def calibrate_garment(imagenet_probs: np.ndarray, already: np.ndarray, miss_rate: float = GARMENT_MISS_RATE) -> dict:
    """The "not a garment" threshold on ImageNet's garment share, from validation garments: the highest that,
    with the rules already flagging `already`, flags at most `miss_rate` of them in all."""
    share = garment_share(imagenet_probs)
    allowed = int(np.floor(miss_rate * len(share))) - int(already.sum())
    candidates = np.sort(share[~already])
    threshold = float(candidates[allowed]) if 0 <= allowed < len(candidates) else 0.0
    threshold = float(np.floor(threshold * 1e6) / 1e6)  # stored rounded down, so it flags no more than measured
    flagged = (share < threshold) | already
    return {
        "garment_share_below": threshold,
        "garment_share_val_median": round(float(np.median(share)), 4),
        "garment_flags_val": round(float(flagged.mean()), 4),
        "garment_share_calibrated_on": f"validation ({len(share)} images)",
    }


def calibrate_unsure(
    probs: np.ndarray, labels: np.ndarray, miss_rate: float = UNSURE_MISS_RATE, over_all: bool = False
) -> dict:
    """Top-probability threshold below which a page says "none of these?", from validation predictions.

    It is the `miss_rate` quantile of the top probability over correctly classified images, so it
    flags that share of right answers; the share of wrong answers it flags is recorded with it.
    over_all: the quantile over all of them instead, where any flag of a validation image counts against the
    rule (clothes: "not a garment" for a garment, right or wrong).
    """
    top, pred = probs.max(1), probs.argmax(1)
    right = pred == labels
    threshold = float(np.quantile(top if over_all else top[right], miss_rate))
    return {
        "unsure_below": round(threshold, 4),
        "unsure_flags_right": round(float((top[right] < threshold).mean()), 4),
        "unsure_flags_wrong": round(float((top[~right] < threshold).mean()), 4) if (~right).any() else None,
        "unsure_calibrated_on": "validation",
    }
