"""Batched training augmentation, done on tensors so it costs little on a CPU.

Handwriting: small rotations, scalings, shears and shifts, plus stroke-width
jitter, because a canvas stroke is often much thicker than an MNIST pen line.
Garments: mirror images and small shifts (Fashion-MNIST items are upright).
Two optional extras, added to a kind with "+": "elastic" (smooth local warps, the classic
handwriting augmentation: other writers bend strokes differently) and "erase" (a random
rectangle blanked, so no single part of a garment is relied on). A third, "render", swaps a share of
the images for renderings of them as a user's picture (data/rendered.py), which the pipeline prepares once
and passes in; the other augmentations then apply on top of either. CutMix (--cutmix) mixes labels as well
as pixels, so the pipeline applies it after these, to the batch and its labels together.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _uniform(n: int, lo: float, hi: float, g: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def random_affine(
    x: torch.Tensor,
    g: torch.Generator,
    rotate: float = 12.0,
    scale: tuple[float, float] = (0.85, 1.12),
    shear: float = 10.0,
    shift: float = 0.08,
) -> torch.Tensor:
    n = x.shape[0]
    uniform = lambda lo, hi: _uniform(n, lo, hi, g)  # noqa: E731

    angle = uniform(-rotate, rotate) * math.pi / 180
    sh = uniform(-shear, shear) * math.pi / 180
    s = uniform(*scale)
    cos, sin, tan = torch.cos(angle), torch.sin(angle), torch.tan(sh)
    # Inverse map used by affine_grid: output coords -> input coords.
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = cos / s
    theta[:, 0, 1] = (-sin + tan * cos) / s
    theta[:, 1, 0] = sin / s
    theta[:, 1, 1] = (cos + tan * sin) / s
    theta[:, :, 2] = (torch.rand(n, 2, generator=g) * 2 - 1) * shift * 2
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def stroke_width_jitter(x: torch.Tensor, g: torch.Generator, p_thick: float = 0.3, p_thin: float = 0.1) -> torch.Tensor:
    """Thicken some strokes (max filter), thin a few (min filter blended with the original)."""
    r = torch.rand(x.shape[0], generator=g)[:, None, None, None]
    thick = F.max_pool2d(x, 3, 1, 1)
    thin = 0.5 * (x - F.max_pool2d(-x, 3, 1, 1))
    out = torch.where(r < p_thick, thick, x)
    return torch.where((r >= p_thick) & (r < p_thick + p_thin), thin, out)


def garment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    flip = torch.rand(x.shape[0], generator=g)[:, None, None, None] < 0.5
    x = torch.where(flip, x.flip(-1), x)
    return random_affine(x, g, rotate=0.0, scale=(0.92, 1.05), shear=0.0, shift=0.07)


def handwriting(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return stroke_width_jitter(random_affine(x, g), g)


def elastic(
    x: torch.Tensor, g: torch.Generator, p: float = 0.5, alpha: float = 0.12, sigma: float = 3.0
) -> torch.Tensor:
    """Warp a share `p` of the images by a random displacement field smoothed with a Gaussian of `sigma` pixels.

    alpha is the largest displacement, as a fraction of the image's half-width (grid units).
    """
    n, _, h, w = x.shape
    radius = int(3 * sigma)
    k = torch.exp(-(torch.arange(-radius, radius + 1, dtype=torch.float32) ** 2) / (2 * sigma**2))
    k = k / k.sum()
    field = torch.rand(n * 2, 1, h, w, generator=g) * 2 - 1
    field = F.conv2d(F.pad(field, (radius, radius, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    field = F.conv2d(F.pad(field, (0, 0, radius, radius), mode="reflect"), k.view(1, 1, -1, 1))
    field = field.view(n, 2, h, w).permute(0, 2, 3, 1)
    field = field / field.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6) * alpha
    on = (torch.rand(n, generator=g) < p).float().view(n, 1, 1, 1)
    identity = F.affine_grid(torch.eye(2, 3).expand(n, 2, 3), list(x.shape), align_corners=False)
    return F.grid_sample(x, identity + on * field, align_corners=False, padding_mode="zeros")


def random_boxes(
    n: int, h: int, w: int, g: torch.Generator, area: tuple[float, float], aspect: tuple[float, float] = (0.3, 3.3)
) -> torch.Tensor:
    """(n, h, w) bool: one rectangle per image, inside it, covering a share of it drawn uniformly from `area`,
    its aspect ratio log-uniform in `aspect`."""
    uniform = lambda lo, hi: _uniform(n, lo, hi, g)  # noqa: E731
    a = uniform(*area) * h * w
    r = torch.exp(uniform(math.log(aspect[0]), math.log(aspect[1])))
    eh, ew = (a * r).sqrt().clamp(1, h), (a / r).sqrt().clamp(1, w)
    top, left = uniform(0, 1) * (h - eh), uniform(0, 1) * (w - ew)
    rows, cols = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
    return (
        (rows >= top.view(n, 1, 1))
        & (rows < (top + eh).view(n, 1, 1))
        & (cols >= left.view(n, 1, 1))
        & (cols < (left + ew).view(n, 1, 1))
    )


def erase(
    x: torch.Tensor,
    g: torch.Generator,
    p: float = 0.5,
    area: tuple[float, float] = (0.02, 0.2),
    aspect: tuple[float, float] = (0.3, 3.3),
) -> torch.Tensor:
    """Blank (set to background, 0) one random rectangle in a share `p` of the images."""
    n, _, h, w = x.shape
    box = random_boxes(n, h, w, g, area, aspect)
    box &= (torch.rand(n, generator=g) < p).view(n, 1, 1)
    return x.masked_fill(box.unsqueeze(1), 0.0)


def cutmix(
    x: torch.Tensor, y: torch.Tensor, num_classes: int, g: torch.Generator, p: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """CutMix (Yun et al., 2019): in a share `p` of the images a rectangle is replaced by the same rectangle of
    another image of the batch, and the target becomes both labels weighted by the pixels each image shows.
    Unlike erasing, the covered pixels still teach: they are a second, labelled example. Returns the images and
    soft targets (N, num_classes), which F.cross_entropy takes as class probabilities. The box covers a share
    of the image drawn uniformly (the paper's Beta(1, 1)); the partner is drawn
    by a permutation of the batch, so now and then it is the image itself, which keeps its own label."""
    n, _, h, w = x.shape
    partner = torch.randperm(n, generator=g)
    box = random_boxes(n, h, w, g, (0.0, 1.0))
    box &= (torch.rand(n, generator=g) < p).view(n, 1, 1)
    mixed = torch.where(box.unsqueeze(1), x[partner], x)
    shown = box.flatten(1).float().mean(1, keepdim=True)  # the partner's share of each image
    one_hot = F.one_hot(y, num_classes).float()
    return mixed, (1 - shown) * one_hot + shown * one_hot[partner]


def swap_in(x: torch.Tensor, rendered: torch.Tensor, g: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """A share `p` of the images replaced by their renderings (same shape)."""
    on = torch.rand(x.shape[0], generator=g).view(-1, *([1] * (x.dim() - 1))) < p
    return torch.where(on, rendered, x)


AUGMENTATIONS = {"handwriting": handwriting, "garment": garment}
EXTRAS = {"elastic": elastic, "erase": erase}
RENDER = "render"  # the extra whose images the pipeline supplies (`rendered` below)


def augment_kind_known(kind: str) -> bool:
    base, *extras = kind.split("+")
    return base in AUGMENTATIONS and all(e in EXTRAS or e == RENDER for e in extras)


def renders(kind: str) -> bool:
    """Whether an augmentation kind needs the training images' renderings."""
    return RENDER in kind.split("+")[1:]


def augment(kind: str, x: torch.Tensor, g: torch.Generator, rendered: torch.Tensor | None = None) -> torch.Tensor:
    """x: float (N, C, H, W) in [0, 1], ink bright. kind: a base kind, then optional "+extra"s; with "+render",
    `rendered` holds a rendering of each image, swapped in before anything else."""
    base, *extras = kind.split("+")
    if RENDER in extras:
        if rendered is None:
            raise ValueError(f"augmentation {kind!r} needs the images' renderings (data/rendered.py)")
        x = swap_in(x, rendered, g)
    x = AUGMENTATIONS[base](x, g)
    for extra in extras:
        if extra != RENDER:
            x = EXTRAS[extra](x, g)
    return x
