"""Sanity checks of the photo tasks' ImageNet rules on photos that are not what a task knows.

    qnn ood --task clothes --negatives   # writes checkpoints/eval/clothes_negatives.json
    qnn ood --task animals --negatives   # writes checkpoints/eval/animals_negatives.json

clothes: how often each candidate check ("none of these?" alone, the garment share alone, both: what is served)
says "not a garment" for CIFAR's animal photos, drawings of the handwriting tasks (MNIST digits and KMNIST kana,
dark on white as a canvas gives them) and the non-garment photos of `shared/data/imagenet-samples`, beside the
validation garments it was calibrated on. animals: how imagenet-samples' 398 animal photos fare, one of the six
or another animal. imagenet-samples' photos are very likely in the backbone's ImageNet training data: they show
that a rule fires, never how accurate it is.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from qnn_core.data.loaders import load_split, load_train_val
from qnn_core.evaluation.report import EVAL_DIR
from qnn_core.inference.imagenet_groups import ANIMAL_CLASSES, GARMENT_CLASSES, SIX, animal_groups, garment_share
from qnn_core.inference.ood import looks_like
from qnn_core.tasks import SHARED_DATA, TaskSpec, get_task

SAMPLES = SHARED_DATA / "imagenet-samples" / "imagenet_samples_1000_short256.zip"
PER_SET = 100  # images of each CIFAR / drawing set: enough to see whether a rule fires


def as_served(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, H, W[, 3]) -> (N, size, size, 3), each stretched as a served photo is ("full", Lanczos)."""
    rgb = [Image.fromarray(im).convert("RGB") for im in images]
    return np.stack([np.asarray(im.resize((size, size), Image.Resampling.LANCZOS)) for im in rgb])


def imagenet_samples(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(images as served, ImageNet class index) of imagenet-samples' 1,000 photos."""
    with zipfile.ZipFile(SAMPLES) as z:
        names = sorted(n for n in z.namelist() if n.endswith(".jpg"))
        images = as_served(np.stack([_square(z.read(n), size) for n in names]), size)
    return images, np.array([int(Path(n).name.split("_")[0]) for n in names])


def _square(data: bytes, size: int) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB").resize((size, size), Image.Resampling.LANCZOS))


def negative_sets(task: TaskSpec) -> dict[str, np.ndarray]:
    """The negatives of a garment task, as served: CIFAR animal photos, drawings, imagenet-samples' non-garments."""
    size = task.input.size
    sets = {"CIFAR animal photos (test split)": as_served(load_split(get_task("animals"), "test").images[::60], size)}
    for name in ("mnist", "kmnist"):
        ink = load_split(get_task(name), "test").images[:PER_SET]
        sets[f"{name} drawings (dark on white)"] = as_served(255 - ink, size)
    images, index = imagenet_samples(size)
    sets["imagenet-samples, non-garment classes (every 4th)"] = images[~np.isin(index, GARMENT_CLASSES)][::4]
    return sets


def garment_report(model, task: TaskSpec, meta: dict, imagenet_probs, served_probs) -> dict:
    """Per set, the share each candidate check flags as "not a garment"."""

    out = {}
    sets = {"validation garments (calibration)": load_train_val(task)[1].images, **negative_sets(task)}
    for name, images in sets.items():
        top = served_probs(images).max(1)
        share = garment_share(imagenet_probs(images))
        by_top, by_share = top < meta["unsure_below"], share < meta["garment_share_below"]
        out[name] = {
            "n": len(images),
            "flagged_by_top_probability": round(float(by_top.mean()), 4),
            "flagged_by_garment_share": round(float(by_share.mean()), 4),
            "flagged_served": round(float((by_top | by_share).mean()), 4),
            "garment_share_median": round(float(np.median(share)), 4),
        }
    return out


def animals_report(meta: dict, imagenet_probs, served_probs) -> dict:
    """imagenet-samples' 398 animal photos: the six's named right and not flagged, the others flagged."""
    images, index = imagenet_samples(get_task("animals").input.size)
    keep = index < ANIMAL_CLASSES
    images, index = images[keep], index[keep]
    probs, served = imagenet_probs(images), served_probs(images)
    group_of = {i: g for g, idx in animal_groups().items() for i in idx}
    six = list(SIX)
    flagged = np.array(
        [
            served[k].max() < meta["unsure_below"]
            or probs[k, :ANIMAL_CLASSES].sum() < meta["animal_share_below"]
            or looks_like(probs[k], meta["other_animal_above"]) is not None
            for k in range(len(index))
        ]
    )
    is_six = np.array([group_of[i] in six for i in index])
    right = np.array([group_of[i] == six[int(p.argmax())] for i, p in zip(index, served)])
    named = [looks_like(probs[k], meta["other_animal_above"]) for k in range(len(index))]
    return {
        "note": "imagenet-samples are likely in the backbone's training data: a sanity check, not a measurement",
        "six": {"n": int(is_six.sum()), "named_right_not_flagged": round(float((right & ~flagged)[is_six].mean()), 4)},
        "others": {
            "n": int((~is_six).sum()),
            "flagged": round(float(flagged[~is_six].mean()), 4),
            "named_as_their_group": round(
                float(np.mean([n == group_of[i] for n, i, s in zip(named, index, is_six) if not s])), 4
            ),
        },
    }


def write(task: TaskSpec, quantum: bool, report: dict) -> Path:
    path = EVAL_DIR / f"{task.name}_{'hybrid' if quantum else 'classical'}_negatives.json"
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return path
