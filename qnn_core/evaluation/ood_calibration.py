"""Calibrate the "none of these?" thresholds of a photo task on its validation split, and store them.

    python -m qnn_core.ood --task animals   # writes animal_share_below and unsure_below into the checkpoints

The animal-share threshold reads the backbone's own ImageNet head (inference/ood.py); the top-probability
threshold is re-derived from validation predictions made the way the app makes them, so a change of
inference (test-time mirroring) needs no retraining.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from qnn_core.data.loaders import load_split, load_train_val
from qnn_core.data.split import VAL_SIZE, train_val_indices
from qnn_core.inference.batch import predict_logits
from qnn_core.inference.ood import ANIMAL_MISS_RATE, calibrate_unsure, imagenet_head
from qnn_core.models.backbones import EfficientNetLite0Features
from qnn_core.models.checkpoint import load_checkpoint, save_checkpoint
from qnn_core.models.trunk_cache import trunk_features
from qnn_core.tasks import get_task


def calibrate(task_name: str) -> dict:
    """The animal-share threshold from the validation split's cached trunk activations."""
    task = get_task(task_name)
    full = load_split(task, "train")
    _, va = train_val_indices(len(full), seed=0, val_size=task.val_size or VAL_SIZE)
    backbone = EfficientNetLite0Features(tuned_stages=task.tuned_stages)
    share = imagenet_head(backbone.cut).animal_share(trunk_features(backbone, full.images[va], task.input))
    threshold = float(np.quantile(share, ANIMAL_MISS_RATE))
    return {"animal_share_below": round(threshold, 4), "animal_share_val_median": round(float(np.median(share)), 4),
            "animal_share_calibrated_on": f"validation ({len(va)} images)"}


def served_unsure(model, task) -> dict:
    """The "none of these?" top-probability threshold from the validation split, predicted as served."""
    val = load_train_val(task)[1]
    return calibrate_unsure(torch.softmax(predict_logits(model, task, val.images), 1).numpy(), val.labels)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m qnn_core.ood", description=__doc__.split("\n")[0])
    p.add_argument("--task", default="animals")
    a = p.parse_args(argv)
    values = calibrate(a.task)
    print(values)
    for quantum in (True, False):
        path = get_task(a.task).checkpoint(quantum)
        if path.is_file():
            model, meta = load_checkpoint(path)
            unsure = served_unsure(model, get_task(a.task))
            print(path.name, unsure)
            save_checkpoint(model, {**meta, **values, **unsure}, path)
            print(f"updated {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
