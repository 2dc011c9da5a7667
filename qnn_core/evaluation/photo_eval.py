"""Accuracy on real photographs (any size), under each photo preprocessing.

    qnn photo-eval --task animals FOLDER [--labels labels.csv] [--resize match full]
                                  [--model classical | --checkpoint PATH] [--quantum off] [--json]

FOLDER holds photos and a labels.csv with `file,label` columns. This measures only: the
preprocessing a task serves with is chosen in its registry entry, never by this on held-out photos.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from qnn_core.cli_args import add_json, add_model, add_quantum_switch, model_path
from qnn_core.devices import DeviceError, add_device
from qnn_core.inference.predict import Predictor
from qnn_core.models.checkpoint import CheckpointError
from qnn_core.preprocess.image import ImageInputError, prepare_photo
from qnn_core.tasks import get_task


def read_labels(path: Path) -> list[tuple[str, str]]:
    with open(path, newline="") as f:
        return [(row["file"], row["label"]) for row in csv.DictReader(f)]


def photo_accuracy(
    predictor: Predictor, folder: Path, labels: list[tuple[str, str]], resize: str, quantum: bool = True
) -> dict:
    """Accuracy and each photo's prediction, with the photo preprocessing `resize` ("match" | "full")."""
    task = predictor.task
    rows, correct = [], 0
    for name, label in labels:
        try:
            pred = predictor.predict_prepared(prepare_photo(folder / name, task.input, resize), quantum=quantum, k=1)
        except ImageInputError as err:
            rows.append({"file": name, "label": label, "error": str(err)})
            continue
        ok = pred.label == label
        correct += ok
        rows.append(
            {
                "file": name,
                "label": label,
                "predicted": pred.label,
                "prob": round(pred.top[0][1], 4),
                "correct": bool(ok),
            }
        )
    return {
        "resize": resize,
        "accuracy": correct / len(labels) if labels else 0.0,
        "correct": correct,
        "n": len(labels),
        "photos": rows,
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qnn photo-eval", description=__doc__.split("\n")[0])
    p.add_argument("--task", required=True)
    p.add_argument("folder", type=Path)
    p.add_argument("--labels", type=Path, help="default: FOLDER/labels.csv")
    add_model(p, what="measure")
    add_quantum_switch(p)
    p.add_argument("--resize", nargs="+", default=["match", "full"], choices=["match", "full"])
    add_json(p, "one result per photo preprocessing, one JSON object a line,")
    add_device(p, default="cpu")
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        predictor = Predictor(a.task, model_path(get_task(a.task), a), a.device)
        labels = read_labels(a.labels or a.folder / "labels.csv")
    except (KeyError, CheckpointError, DeviceError, OSError) as err:
        print(
            f"error: {err.args[0] if isinstance(err, (KeyError, CheckpointError, DeviceError)) else err}",
            file=sys.stderr,
        )
        return 2
    results = [photo_accuracy(predictor, a.folder, labels, r, quantum=a.quantum == "on") for r in a.resize]
    for r in results:
        if a.json:
            print(json.dumps(r, ensure_ascii=False))
        else:
            print(f"{r['resize']}: {r['correct']}/{r['n']} = {r['accuracy']:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
