"""Logits for whole arrays of images, exactly as the app serves them (mirrored pairs averaged where the task says).

Training's validation, evaluation, calibration and the ablation all measure through these functions, so a
number in a model card is the number a user of the app gets.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from qnn_core.data.split import Split
from qnn_core.devices import module_device
from qnn_core.inference.quantum_readout import BatchReadout, Readout
from qnn_core.inference.quantum_state import Circuit
from qnn_core.models.hybrid import HybridNet
from qnn_core.models.trunk_cache import logits_from_trunk, trunk_features
from qnn_core.preprocess.tensor import normalise, to_input
from qnn_core.tasks import TaskSpec


@torch.no_grad()
def single_view_logits(
    model: HybridNet, task: TaskSpec, images: np.ndarray, batch_size: int = 500, quantum: bool = True
) -> torch.Tensor:
    """Logits of the images alone; `quantum=False` zeroes the hybrid's quantum features for this call."""
    if task.input.kind == "photo":  # colour photos through a pretrained backbone, its activations cached
        return logits_from_trunk(
            model,
            trunk_features(model.backbone, images, task.input, desc=f"{task.name} features"),
            batch_size,
            quantum=quantum,
        )[0]
    model.eval()
    device = module_device(model)
    out = [
        model.logits_and_expvals(
            normalise(to_input(images[i : i + batch_size]), task.input).to(device), quantum=quantum
        )[0].cpu()
        for i in range(0, len(images), batch_size)
    ]
    return torch.cat(out) if out else torch.empty(0, task.num_classes)


def mirrored(images: np.ndarray) -> np.ndarray:
    """Each image's mirror image: (N, H, W) or (N, H, W, C), width is axis 2 either way."""
    return np.ascontiguousarray(images[:, :, ::-1])


def served_views(task: TaskSpec, images: np.ndarray, mirror: bool | None = None) -> list[np.ndarray]:
    """The views whose logits the app averages: the images, and their mirror images where the task (or
    `mirror`, where given) says so."""
    return [images, mirrored(images)] if (task.test_time_mirror if mirror is None else mirror) else [images]


def pixel_features(
    backbone: torch.nn.Module, task: TaskSpec, images: np.ndarray, batch_size: int = 500
) -> Iterator[torch.Tensor]:
    """The pooled features of a 28x28 task's backbone, batch by batch (a generator: the caller decides what
    to keep), on the backbone's device."""
    device = module_device(backbone)
    return (
        backbone(normalise(to_input(images[i : i + batch_size]), task.input).to(device))
        for i in range(0, len(images), batch_size)
    )


def served_and_single_logits(
    model: HybridNet,
    task: TaskSpec,
    images: np.ndarray,
    batch_size: int = 500,
    mirror: bool | None = None,
    quantum: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(the logits the app would give, those of the images alone): the first are averaged with the mirror
    images' where the task says so (mirror None: its registry), and are the second otherwise."""
    views = [single_view_logits(model, task, v, batch_size, quantum) for v in served_views(task, images, mirror)]
    return (views[0] if len(views) == 1 else sum(views) / len(views)), views[0]


def predict_logits(
    model: HybridNet,
    task: TaskSpec,
    images: np.ndarray,
    batch_size: int = 500,
    mirror: bool | None = None,
    quantum: bool = True,
) -> torch.Tensor:
    return served_and_single_logits(model, task, images, batch_size, mirror, quantum)[0]


def accuracy(model: HybridNet, task: TaskSpec, split: Split) -> float:
    return float((predict_logits(model, task, split.images).argmax(1).numpy() == split.labels).mean())


@torch.no_grad()
def readout_logits(
    model: HybridNet,
    task: TaskSpec,
    images: np.ndarray,
    readout: Readout,
    batch_size: int = 500,
    mirror: bool | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """As `served_and_single_logits`, with the hybrid's <Z> read out as `readout` says (shots, noise, a simulated
    device): the backbone and the classical branch as always, the circuit's output estimated, then the head."""
    inputs = branch_inputs(model, task, images, batch_size, mirror)
    if readout.qpu:
        from qnn_core.inference.device_noise import DeviceEstimator, simulated  # imports Qiskit

        estimator = DeviceEstimator(simulated(model.quantum, readout.qpu), readout.shots, readout.seed)
    else:
        estimator = BatchReadout(Circuit(model.quantum), readout, inputs=sum(len(a) for a, _ in inputs))
    return head_logits(model, inputs, estimator, batch_size)


BranchInput = tuple[torch.Tensor, "torch.Tensor | None"]  # one view's (angles, classical features), on the CPU


@torch.no_grad()
def branch_inputs(
    model: HybridNet, task: TaskSpec, images: np.ndarray, batch_size: int = 500, mirror: bool | None = None
) -> list[BranchInput]:
    """What the backbone feeds the circuit and the head, per view (the images, and their mirror images where the
    task averages the pair): computed once, so many readouts (shots, noise levels) re-run only circuit and head."""
    if not model.config.quantum:
        raise ValueError("a classical-only model has no quantum branch to read out")
    return [_view_inputs(model, task, view, batch_size) for view in served_views(task, images, mirror)]


def _view_inputs(model: HybridNet, task: TaskSpec, images: np.ndarray, batch_size: int) -> BranchInput:
    model.eval()
    device = module_device(model)
    if task.input.kind == "photo":  # the same cached trunk activations as single_view_logits
        trunk = trunk_features(model.backbone, images, task.input, desc=f"{task.name} features")
        batches = (
            model.backbone.from_trunk(trunk[i : i + batch_size].to(device)) for i in range(0, len(trunk), batch_size)
        )
    else:
        batches = pixel_features(model.backbone, task, images, batch_size)
    angles, classical = [], []
    for features in batches:
        angles.append(model.circuit_angles(features).cpu())
        classical.append(model.branches_from_features(features)[0])  # as always (None: a bottleneck has none)
    if not angles:
        return torch.empty(0, model.config.n_qubits), None
    return torch.cat(angles), None if classical[0] is None else torch.cat(classical).cpu()


@torch.no_grad()
def head_logits(
    model: HybridNet, inputs: list[BranchInput], estimator, batch_size: int = 500
) -> tuple[torch.Tensor, torch.Tensor]:
    """(served, single-view) logits: each view's <Z> read out by `estimator` (a BatchReadout, or anything with
    its `expvals(angles) -> <Z>`), the head on them and the classical features, and the views averaged."""
    device = module_device(model)
    views = []
    for angles, classical in inputs:
        out = []
        for i in range(0, len(angles), batch_size):
            expvals = estimator.expvals(angles[i : i + batch_size]).to(device)
            part = None if classical is None else classical[i : i + batch_size].to(device)
            out.append(model.fuse(part, expvals)[0].cpu())
        views.append(torch.cat(out) if out else torch.empty(0, model.head.out_features))
    return sum(views) / len(views), views[0]
