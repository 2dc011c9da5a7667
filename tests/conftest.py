import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore", category=UserWarning, module="qiskit_ibm_provider")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A hybrid MNIST checkpoint from a few training batches: fast, loadable, not accurate."""
    from qnn_core.training.train import TrainConfig, train

    out = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    train(TrainConfig(task="mnist", epochs=1, subset=256, max_batches=2, batch_size=64), out, quiet=True)
    return out


def draw_digit_one(size=(300, 300), ink=(0, 0, 0, 255), background=(255, 255, 255, 255), width=18) -> Image.Image:
    """A canvas-like drawing of a '1': a slanted vertical stroke with a small flag."""
    img = Image.new("RGBA", size, background)
    d = ImageDraw.Draw(img)
    w, h = size
    d.line([(w * 0.45, h * 0.25), (w * 0.55, h * 0.15), (w * 0.55, h * 0.85)], fill=ink, width=width, joint="curve")
    return img


def mnist_on_canvas(image: np.ndarray, polarity: str, size: int = 280, offset=(30, 10)) -> Image.Image:
    """An MNIST test digit blown up onto a larger canvas, off-centre, in the given polarity."""
    big = Image.fromarray(image).resize((size // 2, size // 2), Image.Resampling.BILINEAR)
    canvas = np.zeros((size, size), np.uint8)
    a = np.asarray(big)
    canvas[offset[1]:offset[1] + a.shape[0], offset[0]:offset[0] + a.shape[1]] = a
    if polarity == "dark-on-light":
        return Image.fromarray(255 - canvas).convert("RGB")
    if polarity == "transparent":
        rgba = np.zeros((size, size, 4), np.uint8)
        rgba[..., :3] = 20  # dark stroke colour
        rgba[..., 3] = canvas  # strokes opaque, background transparent
        return Image.fromarray(rgba, "RGBA")
    return Image.fromarray(canvas).convert("RGB")
