"""HybridNet: a small ResNet feature extractor feeding a classical and a quantum branch.

    image -> ResNet backbone -> features --+-> classical branch (Linear, ReLU) --+
                                           |                                  concat -> head -> logits
                                           +-> Linear -> pi*tanh -> QuantumLayer +

`quantum=False` builds the classical-only ablation with the same backbone and
classical branch. The fairer ablation's controls change only the quantum branch: `matched=True` puts the
circuit's parameter-matched classical stand-in (MatchedLayer, below) where the circuit was, so the head still
gets 8 extra features from the same Linear -> angles; `entangle=False` drops the CNOT ring; and
`circuit_trainable=False` leaves the trainable layers at their random initialisation.

`head="bottleneck"` builds the model whose decision must pass through the qubits: a frozen backbone (the
task's shipped hybrid's), Linear -> 8 angles -> the circuit, and a head that reads only the 8 <Z> values.
Its classical twin (`quantum=False`) replaces the circuit by a bias-free n -> depth -> n tanh layer with
exactly the circuit's number of trainable parameters (2 x n x depth), so the two differ only in what does
the computing, not in how much of it there is. The `quantum` argument of `fuse` / `logits_and_expvals` switches the
quantum features to zero for one call, to show how much a trained model leans on them;
it is an argument and never model state, because one loaded model serves many users at once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from qnn_core.models import backbones
from qnn_core.models.quantum import QuantumLayer, bounded_angles


@dataclass
class ModelConfig:
    in_channels: int = 1
    num_classes: int = 10
    widths: tuple[int, ...] = (32, 64, 128)
    blocks: tuple[int, ...] = (1, 1, 1)
    preact: bool = False  # resnet only: pre-activation blocks (BN -> ReLU -> conv), He et al. 2016's v2
    classical_dim: int = 64
    quantum: bool = True
    n_qubits: int = 8
    q_depth: int = 3
    dropout: float = 0.1
    # "resnet" (the small one below) | "efficientnet_lite0" | "resnet18" (see backbones.py)
    backbone: str = "resnet"
    backbone_weights: str | None = None  # resnet18 only: the user's local weights file
    tuned_stages: int = 1  # efficientnet_lite0 only: how many of its last stages are fine-tuned (the rest is frozen)
    head: str = "fused"  # "fused": classical + quantum features; "bottleneck": the qubits' <Z> alone
    # The fairer ablation's controls (evaluation/ablation.py), fused head only:
    entangle: bool = True  # False: the circuit without its CNOT ring
    circuit_trainable: bool = True  # False: the trainable layers stay at their random initialisation
    matched: bool = False  # classical-only model with the circuit's parameter-matched stand-in in its place

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"], d["blocks"] = list(self.widths), list(self.blocks)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        d = dict(d)
        d["widths"], d["blocks"] = tuple(d["widths"]), tuple(d["blocks"])
        return cls(**d)


# The fields that shape the resnet backbone trained from scratch: a run started from a checkpoint inherits them,
# and pipelines with another backbone refuse them.
RESNET_SHAPE = ("widths", "blocks", "preact")


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with BatchNorm and an identity (or 1x1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class PreActBlock(nn.Module):
    """BN -> ReLU -> 3x3 conv, twice, added to a clean identity path: nothing normalises or rectifies the sum,
    which is what lets deeper stacks train (He et al., "Identity mappings in deep residual networks").
    A projection shortcut reads the pre-activated input, as the first convolution does."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.relu = nn.ReLU()
        self.shortcut: nn.Module | None = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Conv2d(c_in, c_out, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.relu(self.bn1(x))
        out = self.conv2(self.relu(self.bn2(self.conv1(pre))))
        return out + (x if self.shortcut is None else self.shortcut(pre))


class ResNetBackbone(nn.Module):
    """Stem conv, then one stage per width (each after the first halves the resolution).

    With `preact` the blocks are PreActBlocks: the stem is a bare convolution (the first block normalises its
    output) and a final BN -> ReLU (`post`) closes the last stage, since no block rectifies its own sum. The
    post-activation layout keeps its module names, so checkpoints trained before `preact` existed still load."""

    def __init__(
        self, in_channels: int, widths: tuple[int, ...], blocks: tuple[int, ...], preact: bool = False
    ) -> None:
        super().__init__()
        stem: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)]
        if not preact:
            stem += [nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
        self.stem = nn.Sequential(*stem)
        block = PreActBlock if preact else BasicBlock
        stages, c_in = [], widths[0]
        for i, (width, n) in enumerate(zip(widths, blocks)):
            layers = [block(c_in, width, stride=1 if i == 0 else 2)]
            layers += [block(width, width) for _ in range(n - 1)]
            stages.append(nn.Sequential(*layers))
            c_in = width
        self.stages = nn.Sequential(*stages)
        self.post: nn.Module | None = nn.Sequential(nn.BatchNorm2d(widths[-1]), nn.ReLU()) if preact else None
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_dim = widths[-1]

    @property
    def last_conv_layer(self) -> nn.Module:
        """Where Grad-CAM looks: the module whose output is the feature map that is pooled."""
        return self.stages[-1][-1] if self.post is None else self.post

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last residual stage's output (pre-activation: after the closing BN -> ReLU), before pooling."""
        out = self.stages(self.stem(x))
        return out if self.post is None else self.post(out)

    def pool_map(self, feature_map: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(feature_map), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool_map(self.feature_map(x))


class MatchedLayer(nn.Module):
    """The bottleneck's classical twin of the circuit: n -> depth -> n, bias-free, tanh after each, so its output
    lies in [-1, 1] like <Z> and it has the circuit's 2 x n x depth trainable parameters."""

    def __init__(self, n: int, depth: int) -> None:
        super().__init__()
        self.down = nn.Linear(n, depth, bias=False)
        self.up = nn.Linear(depth, n, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.up(torch.tanh(self.down(x))))


HEADS = ("fused", "bottleneck")


class HybridNet(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.head not in HEADS:
            raise ValueError(f"head must be one of {', '.join(HEADS)}, got {config.head!r}")
        if config.matched and (config.quantum or config.head != "fused"):
            raise ValueError(
                "matched=True is the classical-only model's stand-in for the circuit (quantum=False, "
                "head='fused'); the bottleneck's twin has its own"
            )
        self.config = config
        self.backbone = make_backbone(config)
        feat = self.backbone.out_dim
        if config.head == "bottleneck":
            self.to_angles = nn.Linear(feat, config.n_qubits)
            if config.quantum:
                self.quantum = self._circuit(config)
            else:
                self.matched = MatchedLayer(config.n_qubits, config.q_depth)
            self.head = nn.Linear(config.n_qubits, config.num_classes)
            return
        self.classical = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(feat, config.classical_dim), nn.ReLU(inplace=True)
        )
        head_in = config.classical_dim
        if config.quantum or config.matched:
            self.to_angles = nn.Linear(feat, config.n_qubits)
            head_in += config.n_qubits
        if config.quantum:
            self.quantum = self._circuit(config)
        elif config.matched:
            self.matched = MatchedLayer(config.n_qubits, config.q_depth)
        self.head = nn.Linear(head_in, config.num_classes)

    @staticmethod
    def _circuit(config: ModelConfig) -> QuantumLayer:
        layer = QuantumLayer(config.n_qubits, config.q_depth, entangle=config.entangle)
        # Frozen parameters are saved with the model like any others, so a loaded control is the trained one.
        return layer.requires_grad_(config.circuit_trainable)

    def branches(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Classical features and the qubits' <Z> values (None for the classical-only model)."""
        return self.branches_from_features(self.backbone(x))

    @property
    def bottleneck(self) -> bool:
        return self.config.head == "bottleneck"

    def branches_from_features(self, features: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(classical features, <Z>): a bottleneck has no classical features, and its twin's matched layer
        plays the classical part (it has no qubits)."""
        if self.bottleneck:
            if self.config.quantum:
                return None, self.quantum_features(features)
            return self.matched(self.circuit_angles(features)), None
        classical = self.classical(features)
        if self.config.matched:
            return torch.cat([classical, self.matched(self.circuit_angles(features))], dim=1), None
        if not self.config.quantum:
            return classical, None
        return classical, self.quantum_features(features)

    def quantum_features(self, features: torch.Tensor) -> torch.Tensor:
        """The qubits' <Z> for backbone features. Under mixed precision (training with --amp bf16) the angles
        and the circuit stay in float32 / complex64: bf16 angles would be off by ~1e-2 rad."""
        if torch.is_autocast_enabled(features.device.type):
            with torch.autocast(features.device.type, enabled=False):
                return self.quantum(self.circuit_angles(features.float()))
        return self.quantum(self.circuit_angles(features))

    def circuit_angles(self, features: torch.Tensor) -> torch.Tensor:
        """The angles the encoding writes onto the qubits for backbone features, each in (-pi, pi). One definition,
        which the circuit and the quantum view (inference/quantum_state.py) both read."""
        return bounded_angles(self.to_angles(features))

    def logits_and_expvals(self, x: torch.Tensor, quantum: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits, and the <Z> values the quantum branch produced (even when they are switched off)."""
        return self.fuse(*self.branches(x), quantum=quantum)

    def fuse(
        self, classical: torch.Tensor | None, expvals: torch.Tensor | None, quantum: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The head on both branches. `expvals` need not be the circuit's exact ones: the quantum view and
        `evaluate --shots/--noise` pass <Z> estimated from shots or under noise, the classical features unchanged."""
        if expvals is None:
            return self.head(classical), None
        used = expvals if quantum else torch.zeros_like(expvals)
        return self.head(used if classical is None else torch.cat([classical, used], dim=1)), expvals

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits_and_expvals(x)[0]

    def logits_from_map(self, feature_map: torch.Tensor, quantum: bool = True) -> torch.Tensor:
        """Logits from the backbone's last feature map (what Grad-CAM differentiates, see inference/explain.py)."""
        return self.fuse(*self.branches_from_features(self.backbone.pool_map(feature_map)), quantum=quantum)[0]


def make_backbone(config: ModelConfig) -> nn.Module:
    """The feature extractor a config names; pretrained ones are rebuilt from installed packages."""
    if config.backbone == "resnet":
        return ResNetBackbone(config.in_channels, config.widths, config.blocks, config.preact)
    if config.backbone == "efficientnet_lite0":
        return backbones.EfficientNetLite0Features(tuned_stages=config.tuned_stages)
    if config.backbone == "resnet18":
        return backbones.ResNet18Features(config.backbone_weights)
    raise ValueError(f"unknown backbone {config.backbone!r}")


def hybrid_net(in_channels: int = 1, num_classes: int = 10, **kwargs) -> HybridNet:
    return HybridNet(ModelConfig(in_channels=in_channels, num_classes=num_classes, quantum=True, **kwargs))


def classical_net(in_channels: int = 1, num_classes: int = 10, **kwargs) -> HybridNet:
    return HybridNet(ModelConfig(in_channels=in_channels, num_classes=num_classes, quantum=False, **kwargs))
