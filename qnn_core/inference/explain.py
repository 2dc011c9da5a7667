"""Grad-CAM for HybridNet (pytorch-grad-cam), mapped back onto the user's own image."""
from __future__ import annotations

import numpy as np
from PIL import Image
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.image import show_cam_on_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from qnn_core.models.hybrid import HybridNet
from qnn_core.preprocess.image import Prepared, to_user_image


def gradcam(model: HybridNet, prepared: Prepared, class_index: int) -> np.ndarray:
    """Grad-CAM on the model input, (H, W) in [0, 1], for the given class.

    Gradients flow through the quantum branch too (its exact eval-mode path, see quantum.py),
    so the map reflects the whole hybrid model as it is switched.
    """
    with GradCAM(model=model, target_layers=[model.backbone.last_conv_layer]) as cam:
        heat = cam(input_tensor=prepared.tensor, targets=[ClassifierOutputTarget(class_index)])[0]
    model.eval()
    return np.nan_to_num(heat.astype(np.float32))


def _rgb_on_white(img: Image.Image) -> np.ndarray:
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.float32) / 255.0


def overlay(prepared: Prepared, heat: np.ndarray, image_weight: float = 0.55) -> Image.Image:
    """The heat map placed back over the user's drawing or photo (transparent areas shown white)."""
    mask = np.clip(to_user_image(heat, prepared.placement), 0.0, 1.0)
    return Image.fromarray(show_cam_on_image(_rgb_on_white(prepared.image), mask, use_rgb=True, image_weight=image_weight))


def model_input_image(prepared: Prepared, scale: int = 8) -> Image.Image:
    """What the model sees, enlarged with nearest-neighbour so the pixels stay visible."""
    px = Image.fromarray((np.clip(prepared.pixels, 0, 1) * 255).astype(np.uint8))
    return px.resize((px.width * scale, px.height * scale), Image.Resampling.NEAREST)
