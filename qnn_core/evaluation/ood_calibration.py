"""Calibrate the "none of these?" thresholds of a photo task on its validation split, and store them.

    qnn ood --task animals [--json]   # writes animal_share_below and unsure_below into the checkpoints
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
from qnn_core.data.loaders import load_split, load_train_val
from qnn_core.data.split import validation_split
from qnn_core.devices import DeviceError, add_device, resolve
from qnn_core.evaluation.unsure_calibration import calibrate_task
from qnn_core.inference.batch import predict_logits
from qnn_core.inference.ood import ANIMAL_MISS_RATE, calibrate_unsure, imagenet_head
from qnn_core.models.backbones import EfficientNetLite0Features
from qnn_core.models.checkpoint import load_checkpoint, save_checkpoint
from qnn_core.models.trunk_cache import trunk_features
from qnn_core.tasks import get_task


def calibrate(task_name: str, device: str = "cpu") -> dict:
    """The animal-share threshold from the validation split's cached trunk activations."""
    task = get_task(task_name)
    full = load_split(task, "train")
    val = validation_split(task, full)[1]
    backbone = EfficientNetLite0Features(tuned_stages=task.tuned_stages).to(device)
    share = imagenet_head(backbone.cut, device).animal_share(trunk_features(backbone, val.images, task.input))
    threshold = float(np.quantile(share, ANIMAL_MISS_RATE))
    return {
        "animal_share_below": round(threshold, 4),
        "animal_share_val_median": round(float(np.median(share)), 4),
        "animal_share_calibrated_on": f"validation ({len(val)} images)",
    }


def served_unsure(model, task, device: str = "cpu") -> dict:
    """The "none of these?" top-probability threshold from the validation split, predicted as served."""
    model.to(device)
    val = load_train_val(task)[1]
    return calibrate_unsure(torch.softmax(predict_logits(model, task, val.images), 1).numpy(), val.labels)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qnn ood", description=__doc__.split("\n")[0])
    p.add_argument("--task", default="animals", help="any task (default %(default)s)")
    add_json(p, "the thresholds, one JSON object a line,")
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
    values = calibrate(task.name, device)
    _show({"task": task.name, **values}, a.json)
    for quantum in (True, False):
        path = task.checkpoint(quantum)
        if path.is_file():
            model, meta = load_checkpoint(path)
            unsure = served_unsure(model, task, device)
            _show({"checkpoint": path.name, **unsure}, a.json)
            save_checkpoint(model, {**meta, **values, **unsure}, path)
            print(f"updated {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
