"""Grad-CAM for HybridNet (pytorch-grad-cam), safe to run from many threads on one shared model, and mapped
back onto the user's own image.

pytorch-grad-cam registers forward and gradient hooks on its target layer. Registered on a model that
several browser sessions share, those hooks fire inside other sessions' forward passes too, and two
concurrent Grad-CAMs crashed the server. So the hooks never touch the shared model: each call builds a
throw-away view whose own `nn.Identity` sits between the backbone's last feature map and the rest of the
model, and pytorch-grad-cam hooks that. The shared model is only read.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn

from qnn_core.models.hybrid import HybridNet
from qnn_core.preprocess.image import Prepared, to_user_image


class CamView(nn.Module):
    """One Grad-CAM call's view of a shared model: input -> feature map -> `at` (hooked) -> logits.

    The model is kept outside this module's children, so pytorch-grad-cam's `eval()` and `zero_grad()` on
    the view never reach it. The feature map is detached and made a leaf, so the backward pass stops there
    and writes no gradient into the shared parameters.
    """

    def __init__(self, model: HybridNet, quantum: bool = True) -> None:
        super().__init__()
        object.__setattr__(self, "shared", model)
        self.quantum = quantum
        self.at = nn.Identity()
        # pytorch-grad-cam reads the device from the first parameter; the shared model's are not ours to show it
        device = next(model.parameters()).device
        self.device_anchor = nn.Parameter(torch.empty(0, device=device), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature_map = self.shared.backbone.feature_map(x).detach().requires_grad_(True)
        return self.shared.logits_from_map(self.at(feature_map), quantum=self.quantum)


def gradcam(model: HybridNet, prepared: Prepared, class_index: int, quantum: bool = True) -> np.ndarray:
    """Grad-CAM on the model input, (H, W) in [0, 1], for the given class, with the quantum branch as asked.

    Gradients flow through the quantum branch too (its exact eval-mode path, see models/quantum.py), so the
    map reflects the whole hybrid model as it is switched.
    """
    # imported on first use: pytorch-grad-cam pulls in scikit-learn and pandas (seconds), which a page
    # does not need before its first drawing
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    if model.training:
        raise ValueError("Grad-CAM needs a model in eval mode (a shared model is never switched by a caller)")
    if model.bottleneck and not quantum:  # the head sees only zeros: the answer depends on no pixel at all
        return np.zeros(prepared.pixels.shape[:2], np.float32)
    view = CamView(model, quantum)
    with torch.enable_grad(), GradCAM(model=view, target_layers=[view.at]) as cam:
        heat = cam(
            input_tensor=prepared.tensor.to(view.device_anchor.device), targets=[ClassifierOutputTarget(class_index)]
        )[0]
    return np.nan_to_num(heat.astype(np.float32))


def _rgb_on_white(img: Image.Image) -> np.ndarray:
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.float32) / 255.0


def overlay(prepared: Prepared, heat: np.ndarray, image_weight: float = 0.55) -> Image.Image:
    """The heat map over the user's drawing or photo, tinting only where the model looks.

    pytorch-grad-cam's `show_cam_on_image` blends its colour map over the whole image, so zero heat still
    paints the paper dark blue; here each pixel takes the blend in proportion to its heat, and where the
    model does not look the paper keeps its own colour (transparent areas shown white).
    """
    from pytorch_grad_cam.utils.image import show_cam_on_image  # on first use, as in gradcam()

    mask = np.clip(to_user_image(heat, prepared.placement), 0.0, 1.0)
    image = _rgb_on_white(prepared.image)
    tinted = show_cam_on_image(image, mask, use_rgb=True, image_weight=image_weight).astype(np.float32) / 255.0
    alpha = mask[..., None]
    return Image.fromarray(np.round((image * (1 - alpha) + tinted * alpha) * 255).astype(np.uint8))


def model_input_image(prepared: Prepared, scale: int = 8) -> Image.Image:
    """What the model sees, enlarged with nearest-neighbour so the pixels stay visible."""
    px = Image.fromarray((np.clip(prepared.pixels, 0, 1) * 255).astype(np.uint8))
    return px.resize((px.width * scale, px.height * scale), Image.Resampling.NEAREST)
