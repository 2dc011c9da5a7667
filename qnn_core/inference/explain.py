"""Grad-CAM for HybridNet, safe to run from many threads on one shared model, and mapped back onto the user's own
image.

Grad-CAM as pytorch-grad-cam computes it (`tests/service/test_task_service.py` checks the two agree to 1e-5):
the gradient of the class's logit with respect to the backbone's last feature map, averaged per channel, weights
the channels; their sum, clipped at 0, is scaled to [0, 1], resized to the model input (OpenCV, bilinear) and
scaled again. Computed here directly rather than through pytorch-grad-cam, for two reasons:

- no hooks: hooks registered on a model that several browser sessions share fire inside other sessions' forward
  passes too (two concurrent Grad-CAMs once crashed the server). Here the feature map is computed without a
  graph and made a leaf of this call's own, so the backward pass stops there, writes no gradient into the shared
  parameters, and the shared model is only read;
- no import cost: pytorch-grad-cam imports torchvision and scikit-learn, seconds that a server would pay on its
  first Grad-CAM.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from qnn_core.models.hybrid import HybridNet
from qnn_core.preprocess.image import Prepared, to_user_image


def _scaled(cam: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """pytorch-grad-cam's scale_cam_image for one map: to [0, 1], then (with `size`, as (width, height)) resized."""
    import cv2  # OpenCV's resize, as pytorch-grad-cam uses it (imported here: most pages never need it)

    cam = (cam - np.min(cam)).astype(np.float32)
    cam = cam / (1e-7 + np.max(cam))
    return np.asarray(cv2.resize(cam, size) if size is not None else cam, dtype=np.float32)


def gradcam(model: HybridNet, prepared: Prepared, class_index: int, quantum: bool = True) -> np.ndarray:
    """Grad-CAM on the model input, (H, W) in [0, 1], for the given class, with the quantum branch as asked.

    Gradients flow through the quantum branch too (its exact eval-mode path, see models/quantum.py), so the
    map reflects the whole hybrid model as it is switched.
    """
    if model.training:
        raise ValueError("Grad-CAM needs a model in eval mode (a shared model is never switched by a caller)")
    x = prepared.tensor.to(next(model.parameters()).device)
    if model.bottleneck and not quantum:  # the head sees only zeros: the answer depends on no pixel at all
        return np.zeros(prepared.pixels.shape[:2], np.float32)
    with torch.no_grad():
        feature_map = model.backbone.feature_map(x)
    with torch.enable_grad():
        feature_map = feature_map.detach().requires_grad_(True)  # this call's own leaf: backward stops here
        logits = model.logits_from_map(feature_map, quantum=quantum)
        (grads,) = torch.autograd.grad(logits[0, class_index], feature_map)
    activations = feature_map.detach()[0].cpu().numpy()  # (channels, h, w)
    weights = np.mean(grads[0].cpu().numpy(), axis=(1, 2))
    cam = np.maximum((weights[:, None, None] * activations).sum(axis=0), 0)
    heat = _scaled(_scaled(cam, (x.shape[-1], x.shape[-2])))  # per layer, then over the (one) layer, as theirs
    return np.nan_to_num(heat.astype(np.float32))


def _cam_on_image(image: np.ndarray, mask: np.ndarray, image_weight: float) -> np.ndarray:
    """pytorch-grad-cam's show_cam_on_image(use_rgb=True): the JET colour map of the mask blended over the image."""
    import cv2

    heatmap = cv2.cvtColor(cv2.applyColorMap((255 * mask).astype(np.uint8), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    cam = (1 - image_weight) * (np.asarray(heatmap, dtype=np.float32) / 255) + image_weight * image
    return (255 * (cam / np.max(cam))).astype(np.uint8)


def _rgb_on_white(img: Image.Image) -> np.ndarray:
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.float32) / 255.0


def overlay(prepared: Prepared, heat: np.ndarray, image_weight: float = 0.55) -> Image.Image:
    """The heat map over the user's drawing or photo, tinting only where the model looks.

    pytorch-grad-cam's `show_cam_on_image` (here `_cam_on_image`) blends its colour map over the whole image, so
    zero heat still paints the paper dark blue; here each pixel takes the blend in proportion to its heat, and
    where the model does not look the paper keeps its own colour (transparent areas shown white).
    """
    mask = np.clip(to_user_image(heat, prepared.placement), 0.0, 1.0)
    image = _rgb_on_white(prepared.image)
    tinted = _cam_on_image(image, mask, image_weight).astype(np.float32) / 255.0
    alpha = mask[..., None]
    return Image.fromarray(np.round((image * (1 - alpha) + tinted * alpha) * 255).astype(np.uint8))


def model_input_image(prepared: Prepared, scale: int = 8) -> Image.Image:
    """What the model sees, enlarged with nearest-neighbour so the pixels stay visible."""
    px = Image.fromarray((np.clip(prepared.pixels, 0, 1) * 255).astype(np.uint8))
    return px.resize((px.width * scale, px.height * scale), Image.Resampling.NEAREST)
