"""Calibrate the "none of these?" thresholds of a photo task on its validation split, and store them.

    qnn ood --task animals [--json]   # writes animal_share_below, unsure_below, other_animal_above into the checkpoints
    qnn ood --task clothes [--json]   # writes unsure_below and garment_share_below into the checkpoints
    qnn ood --task mnist [--json]     # a handwriting task: evaluation/unsure_calibration.py

With --json every result is one JSON object a line: first the animal-share threshold
({"task", "animal_share_below", ...}), then one per checkpoint ({"checkpoint", "unsure_below", ...}).

The animal-share threshold reads the backbone's own ImageNet head (inference/ood.py); the top-probability
threshold is re-derived from validation predictions made the way the app makes them, so a change of
inference (test-time mirroring) needs no retraining.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

from qnn_core.cli_args import add_json
from qnn_core.data.loaders import load_train_val
from qnn_core.devices import DeviceError, add_device, resolve
from qnn_core.evaluation.unsure_calibration import calibrate_task
from qnn_core.inference.batch import predict_logits
from qnn_core.inference.ood import (
    ANIMAL_MISS_RATE,
    GARMENT_MISS_RATE,
    IMAGENET_ANIMALS,
    calibrate_garment,
    calibrate_other_animal,
    calibrate_unsure,
    imagenet_head,
)
from qnn_core.models.backbones import EfficientNetLite0Features
from qnn_core.models.checkpoint import load_checkpoint, save_checkpoint
from qnn_core.models.trunk_cache import trunk_features
from qnn_core.tasks import get_task


def validation_images(task) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of the task's validation split, as every calibration reads it."""
    val = load_train_val(task)[1]
    return val.images, val.labels


def validation_imagenet_probs(task, images: np.ndarray, device: str = "cpu") -> np.ndarray:
    """The backbone's ImageNet probabilities (N, 1000) for validation photos, from their cached trunk activations."""
    backbone = EfficientNetLite0Features(tuned_stages=task.tuned_stages).to(device)
    return imagenet_head(backbone.cut, device).probs(trunk_features(backbone, images, task.input))


def calibrate(task_name: str, device: str = "cpu", probs: np.ndarray | None = None) -> dict:
    """The animal-share threshold from the validation split's cached trunk activations."""
    task = get_task(task_name)
    if probs is None:
        probs = validation_imagenet_probs(task, validation_images(task)[0], device)
    share = probs[:, IMAGENET_ANIMALS].sum(1)
    threshold = float(np.quantile(share, ANIMAL_MISS_RATE))
    return {
        "animal_share_below": round(threshold, 4),
        "animal_share_val_median": round(float(np.median(share)), 4),
        "animal_share_calibrated_on": f"validation ({len(share)} images)",
    }


def served_probs(model, task, images: np.ndarray, device: str = "cpu") -> np.ndarray:
    """The model's class probabilities for validation images, predicted as served."""
    model.to(device)
    return torch.softmax(predict_logits(model, task, images), 1).numpy()


def served_unsure(model, task, device: str = "cpu") -> dict:
    """The "none of these?" top-probability threshold from the validation split, predicted as served."""
    images, labels = validation_images(task)
    return calibrate_unsure(served_probs(model, task, images, device), labels)


def checkpoint_thresholds(model, task, images, labels, imagenet: np.ndarray, task_values: dict, device: str) -> dict:
    """One checkpoint's thresholds: top probability, then the ImageNet rule of its task (registry
    `imagenet_check`), calibrated so that all of its checks together stay within their budgets on validation."""
    probs = served_probs(model, task, images, device)
    if task.imagenet_check == "garment":  # every validation photo is a garment, right or wrong: each flag is a miss
        # half the budget to top probability, the rest to "not a garment"
        unsure = calibrate_unsure(probs, labels, miss_rate=GARMENT_MISS_RATE / 2, over_all=True)
        already = probs.max(1) < unsure["unsure_below"]
        return {**unsure, **calibrate_garment(imagenet, already)}
    unsure = calibrate_unsure(probs, labels)
    already = (probs.max(1) < unsure["unsure_below"]) | (
        imagenet[:, IMAGENET_ANIMALS].sum(1) < task_values["animal_share_below"]
    )
    return {**unsure, **calibrate_other_animal(imagenet, already)}


def negatives(task, device: str, as_json: bool) -> int:
    """The stored rules of each checkpoint on photos the task does not know (a sanity check, written as JSON)."""
    from qnn_core.evaluation import photo_negatives

    for quantum in (True, False):
        path = task.checkpoint(quantum)
        if not path.is_file():
            continue
        model, meta = load_checkpoint(path)
        imagenet = lambda images: validation_imagenet_probs(task, images, device)  # noqa: E731
        served = lambda images: served_probs(model, task, images, device)  # noqa: E731
        if task.imagenet_check == "garment":
            report = photo_negatives.garment_report(model, task, meta, imagenet, served)
        else:
            report = photo_negatives.animals_report(meta, imagenet, served)
        _show({"checkpoint": path.name, **report}, as_json)
        print(f"wrote {photo_negatives.write(task, quantum, report)}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qnn ood", description=__doc__.split("\n")[0])
    p.add_argument("--task", default="animals", help="any task (default %(default)s)")
    add_json(p, "the thresholds, one JSON object a line,")
    p.add_argument(
        "--negatives",
        action="store_true",
        help="photo tasks: calibrate nothing; check the stored rules on photos the task does not know "
        "(evaluation/photo_negatives.py) and write checkpoints/eval/<task>_<model>_negatives.json",
    )
    add_device(p, default="cpu")
    return p


def _show(record: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(record, ensure_ascii=False), flush=True)
    else:
        print("  ".join(f"{k} {v}" for k, v in record.items()), flush=True)


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        task = get_task(a.task)
        device = str(resolve(a.device))
    except (KeyError, DeviceError) as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 2
    if task.input.kind != "photo":  # measured where the shipped figures are: on the CPU
        for record in calibrate_task(task.name):
            _show(record if a.json else {k: record[k] for k in ("checkpoint", "score", "threshold")}, a.json)
        return 0
    if a.negatives:
        return negatives(task, device, a.json)
    images, labels = validation_images(task)
    imagenet = validation_imagenet_probs(task, images, device)
    values = calibrate(task.name, device, imagenet) if task.imagenet_check == "animal" else {}
    if values:
        _show({"task": task.name, **values}, a.json)
    for quantum in (True, False):
        path = task.checkpoint(quantum)
        if path.is_file():
            model, meta = load_checkpoint(path)
            own = checkpoint_thresholds(model, task, images, labels, imagenet, values, device)
            _show({"checkpoint": path.name, **own}, a.json)
            save_checkpoint(model, {**meta, **values, **own}, path)
            print(f"updated {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
