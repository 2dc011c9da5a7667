"""Batched training augmentation, done on tensors so it costs little on a CPU.

Handwriting: small rotations, scalings, shears and shifts, plus stroke-width
jitter, because a canvas stroke is often much thicker than an MNIST pen line.
Garments: mirror images and small shifts (Fashion-MNIST items are upright).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(x: torch.Tensor, g: torch.Generator, rotate: float = 12.0, scale: tuple[float, float] = (0.85, 1.12),
                  shear: float = 10.0, shift: float = 0.08) -> torch.Tensor:
    n = x.shape[0]

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=g)

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


AUGMENTATIONS = {"handwriting": handwriting, "garment": garment}


def augment(kind: str, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """x: float (N, C, H, W) in [0, 1], ink bright."""
    return AUGMENTATIONS[kind](x, g)
