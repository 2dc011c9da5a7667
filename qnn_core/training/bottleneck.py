"""The quantum-bottleneck pipeline: the task's shipped hybrid's backbone, frozen, turns every image into its
pooled features once (held in memory); then only Linear -> angles -> circuit (or its matched classical twin)
-> head trains, in minutes. The backbone is borrowed, not copied: the checkpoint names the hybrid it came
from and a hash of its weights (models/checkpoint.py), so when that hybrid is replaced, the bottleneck model
refuses to load until the same command has retrained it on the new backbone.
"""

from __future__ import annotations

import torch

from qnn_core.data.split import Split
from qnn_core.inference.batch import predict_logits
from qnn_core.models.checkpoint import backbone_state, tensors_sha256
from qnn_core.models.hybrid import RESNET_SHAPE, HybridNet
from qnn_core.preprocess.tensor import normalise, to_input
from qnn_core.tasks import TaskSpec
from qnn_core.training.config import TrainConfig
from qnn_core.training.pipeline import COMMON, Pipeline

BATCH = 500


class Bottleneck(Pipeline):
    epochs = 10  # an epoch of the heads on cached features takes seconds; validation passes the backbone
    honours = (COMMON - {"swa", "init"}) | {"model.head"}
    refuses = {
        "augment": "cannot apply to a bottleneck model: its backbone is frozen and runs once per image, so a pixel "
        "augmentation never reaches what trains",
        "cutmix": "cannot apply to a bottleneck model: its heads train on the frozen backbone's features of each "
        "image, never on pixels",
        "swa": "is not offered for the bottleneck's heads (a few minutes of training; nothing to average)",
        "init": "does not apply: a bottleneck model always starts from its task's shipped hybrid's backbone",
        "freeze_backbone": "is implied: a bottleneck model's backbone is always frozen",
        "views": "is for cached features of a pretrained backbone",
        **{
            f"model.{name}": "comes from the shipped hybrid whose backbone the bottleneck borrows"
            for name in RESNET_SHAPE
        },
    }

    def __init__(
        self, cfg: TrainConfig, task: TaskSpec, model: HybridNet, train: Split, val: Split, quiet: bool = False
    ) -> None:
        super().__init__(cfg, task, model, train, val, quiet)
        self.donor = task.checkpoint(True)
        state = backbone_state(self.donor)
        model.backbone.load_state_dict(state)
        self.backbone_sha256 = tensors_sha256(state)
        model.backbone.requires_grad_(False).eval()
        self.features = self._pooled(model, train.images)
        self.labels = torch.as_tensor(train.labels)
        self.val_images = val.images

    @torch.no_grad()
    def _pooled(self, model: HybridNet, images) -> torch.Tensor:
        out = [
            model.backbone(self.to_device(normalise(to_input(images[i : i + BATCH]), self.task.input))).cpu()
            for i in range(0, len(images), BATCH)
        ]
        return torch.cat(out)

    def train_mode(self, model: HybridNet) -> None:
        model.train()
        model.backbone.eval()

    def batch(self, model: HybridNet, idx: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.to_device(self.features[idx])
        return model.fuse(*model.branches_from_features(f))[0], self.to_device(self.labels[idx])

    def val_logits(self, model: HybridNet) -> torch.Tensor:
        return predict_logits(model, self.task, self.val_images)  # through the backbone, exactly as served

    def refresh_batchnorm(self, model: HybridNet) -> None:
        """The only BatchNorm layers are the frozen backbone's."""

    def describe(self) -> dict:
        kind = "bottleneck" if self.cfg.quantum else "bottleneck-twin"
        return {"model_kind": kind, "backbone_from": {"checkpoint": self.donor.name, "sha256": self.backbone_sha256}}
