"""Tensor-side preprocessing shared by training and serving, so that both feed a model the same numbers."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from qnn_core.tasks import InputSpec


def to_input(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W) -> float (N, 1, H, W) in [0, 1]."""
    # float() copies anyway, so a read-only array (a memory-mapped data set) is converted without torch's warning
    x = images.float() if isinstance(images, torch.Tensor) else torch.from_numpy(np.asarray(images, dtype=np.float32))
    return x.div(255.0).unsqueeze(1)


def normalise(x: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """(N, C, H, W) in [0, 1] -> the normalised input the model was trained on."""
    mean = torch.tensor(spec.mean).view(1, -1, 1, 1)
    std = torch.tensor(spec.std).view(1, -1, 1, 1)
    return (x - mean) / std


def upsample(images: np.ndarray | torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """uint8 (N, H, W, 3) small images -> normalised (N, 3, size, size): how every training image is fed."""
    x = torch.tensor(np.asarray(images)).permute(0, 3, 1, 2).float().div_(255.0)
    if x.shape[-1] != spec.size or x.shape[-2] != spec.size:
        x = F.interpolate(x, size=(spec.size, spec.size), mode="bicubic", align_corners=False).clamp_(0.0, 1.0)
    return normalise(x, spec)
