"""Calibrate each handwriting model's "I'm not sure" verdict on validation data, and measure it on test data.

    qnn ood --task mnist [--json]   # every shipped model of the task; animals: its photo checks

Positives are the task's own images; negatives are what a person might draw on the task's page instead:
the other handwriting tasks' images (kana and letters on the Digits page, and so on), scribbles and
near-blank drawings (data/scribbles.py). Choosing happens on validation only: the three scores of
inference/unsure.py are compared by their AUROC on the validation images against negatives made from the
other tasks' *training* images and one seed of scribbles, and the better one gets the threshold that flags
VAL_FALSE_ALARMS of the validation positives. Then it is measured once on the *test* splits (the task's own
for false alarms, the other tasks' for detection, another seed of scribbles) and, for letters, on the UJI
holdout; the rule goes into the checkpoint's meta, the measurements into checkpoints/eval/*_unsure.json.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from scipy.stats import rankdata

from qnn_core.data import proxies, scribbles
from qnn_core.data.loaders import load_holdout, load_split, load_train_val
from qnn_core.data.split import Split
from qnn_core.fileio import write_json_atomic
from qnn_core.inference.batch import pixel_features, served_views
from qnn_core.inference.unsure import SCORES, Gaussian, UnsureRule
from qnn_core.models.checkpoint import load_checkpoint, save_checkpoint, tensors_sha256
from qnn_core.models.hybrid import HybridNet
from qnn_core.paths import EVAL_DIR
from qnn_core.tasks import TASKS, TaskSpec, get_task

VAL_FALSE_ALARMS = 0.02  # of the validation positives; the target on test is <= 3%
FIT_IMAGES = 5000  # training images the class Gaussian is fitted on
NEGATIVES = {"val": 1000, "test": 2000}  # per other task: a seeded sample of its train split / its first test images
DRAWN = {"scribble": 1000, "near-blank": 300}  # per stage
SEEDS = {"val": 1, "test": 2}  # of the drawn negatives: test scribbles are never the validation ones
# Shapes that two tasks share, which a detector cannot be expected to tell apart (named in the card).
SHARED_SHAPES = {
    ("mnist", "letters"): "0/o, 1/l, 2/z, 5/s, 6/b, 9/g, 9/q",
    ("letters", "mnist"): "o/0, l/1, z/2, s/5, b/6, g/9, q/9",
    # hiragana: the pairs its first calibration let through most (its JSON's "undetected_pairs")
    ("hiragana", "letters"): "り/v",
    ("hiragana", "mnist"): "く/1, ろ/3, う/3, ら/5, り/4, け/4, つ/7, す/7, り/9",
}
# Task pairs that are not negatives of each other: KMNIST's kuzushiji are hiragana too, in cursive.
NOT_NEGATIVES = {("hiragana", "kmnist"), ("kmnist", "hiragana")}


def handwriting_tasks() -> list[str]:
    return [name for name, t in TASKS.items() if t.input.kind != "photo"]


@lru_cache(maxsize=16)
def _split(task_name: str, split: str) -> Split:
    return load_split(get_task(task_name), split)


@lru_cache(maxsize=8)
def _val(task_name: str) -> Split:
    return load_train_val(get_task(task_name))[1]


def sample(split: Split, n: int, seed: int = 0) -> Split:
    idx = np.random.default_rng(seed).permutation(len(split))[:n]
    return split.subset(np.sort(idx))


def negative_sets(task: TaskSpec, stage: str) -> dict[str, np.ndarray]:
    """The negatives of one stage: every other handwriting task's images, then the drawn ones, by source."""
    out = {}
    for other in handwriting_tasks():
        if other == task.name or (task.name, other) in NOT_NEGATIVES:
            continue
        if stage == "val":
            out[other] = sample(_split(other, "train"), NEGATIVES["val"]).images
        else:
            out[other] = _split(other, "test").images[: NEGATIVES["test"]]
    for kind, n in DRAWN.items():
        out[kind] = scribbles.render(kind, n, task, SEEDS[stage])
    return out


@torch.no_grad()
def view_features(
    backbone: torch.nn.Module, task: TaskSpec, images: np.ndarray, batch_size: int = 500
) -> list[torch.Tensor]:
    """Pooled backbone features per view (the images, and their mirror images where the task averages them)."""
    backbone.eval()
    return [torch.cat(list(pixel_features(backbone, task, v, batch_size))).cpu() for v in served_views(task, images)]


@torch.no_grad()
def logits_and_features(model: HybridNet, views: list[torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
    """Served logits (the views' averaged) and the views' mean features, as the Predictor computes them."""
    model.eval()
    logits = sum(model.fuse(*model.branches_from_features(f))[0] for f in views) / len(views)
    return logits.numpy(), (sum(views) / len(views)).numpy()


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a negative scores higher than a positive), ties counted half: the area under the ROC curve."""
    ranks = rankdata(np.concatenate([positive, negative]))
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[n_pos:].sum() - n_neg * (n_neg + 1) / 2) / (n_pos * n_neg))


def measure(rule: UnsureRule, pos: tuple, negs: dict[str, tuple]) -> dict:
    """False alarms on the positives; detection and AUROC pooled over every negative, over the other tasks'
    images alone, over the drawn ones alone, and per source."""
    p = rule.scores(*pos)
    per = {name: rule.scores(*v) for name, v in negs.items()}
    pooled = np.concatenate(list(per.values()))
    tasks = np.concatenate([s for name, s in per.items() if name not in scribbles.KINDS])
    drawn = np.concatenate([s for name, s in per.items() if name in scribbles.KINDS])
    return {
        "false_alarms": float((p > rule.threshold).mean()),
        "positives": len(p),
        "detection": float((pooled > rule.threshold).mean()),
        "negatives": len(pooled),
        "auroc": auroc(p, pooled),
        "other_tasks": {"detection": float((tasks > rule.threshold).mean()), "n": len(tasks), "auroc": auroc(p, tasks)},
        "drawn": {"detection": float((drawn > rule.threshold).mean()), "n": len(drawn), "auroc": auroc(p, drawn)},
        "per_source": {
            name: {"detection": float((s > rule.threshold).mean()), "n": len(s), "auroc": auroc(p, s)}
            for name, s in per.items()
        },
    }


def proxy_flags_right(rule: UnsureRule, proxy: tuple, labels: np.ndarray) -> float:
    """Of the proxy pictures the model reads right, how many the rule flags (the false alarms a user would see)."""
    logits, features = proxy
    right = logits.argmax(1) == labels[: len(logits)]
    return float(rule.is_unsure(logits[right], features[right]).mean())


def calibrate_task(task_name: str, kinds: tuple[str, ...] | None = None, write: bool = True) -> list[dict]:
    """Calibrate and measure every shipped model of a handwriting task; returns one record per checkpoint."""
    task = get_task(task_name)
    kinds = kinds or tuple(k for k in task.models if task.model_checkpoint(k).is_file())
    fit = sample(_split(task.name, "train"), FIT_IMAGES, seed=1)
    val, test = _val(task.name).images, _split(task.name, "test").images
    # People's pictures are not the data set's images: how often the rule flags the validation and test images
    # re-made as canvas, pen and photo pictures (data/proxies.py) is measured beside the rest. They are not
    # positives of the calibration: a blurred photo the model misreads is one it should be unsure of.
    images = {
        "fit": fit.images,
        "val": val,
        "val_proxy": proxies.proxy(val, task, seed=SEEDS["val"]),
        "test": test,
        "test_proxy": proxies.proxy(test[: NEGATIVES["test"]], task, seed=SEEDS["test"]),
    }
    negatives = {stage: negative_sets(task, stage) for stage in ("val", "test")}
    holdout = load_holdout(task) if task.data.kind == "strokes" else None  # letters: UJI, measured only
    records, features_by_backbone = [], {}
    for kind in kinds:
        path = task.model_checkpoint(kind)
        model, meta = load_checkpoint(path)
        key = tensors_sha256(model.backbone.state_dict())  # a bottleneck and its twin borrow the hybrid's backbone
        if key not in features_by_backbone:
            sets = {**images, **{f"{stage}:{n}": v for stage, d in negatives.items() for n, v in d.items()}}
            if holdout is not None:
                sets["holdout"] = holdout.images
            features_by_backbone[key] = {name: view_features(model.backbone, task, v) for name, v in sets.items()}
        feats = features_by_backbone[key]
        out = {name: logits_and_features(model, views) for name, views in feats.items()}
        gaussian = Gaussian.fit(out["fit"][1], fit.labels, task.num_classes)
        val_negs = {n.split(":", 1)[1]: v for n, v in out.items() if n.startswith("val:")}
        val_pos = out["val"]
        compared = {}
        for score in SCORES:
            probe = UnsureRule(score, 0.0, gaussian if score == "mahalanobis" else None)
            p = probe.scores(*val_pos)
            compared[score] = auroc(p, np.concatenate([probe.scores(*v) for v in val_negs.values()]))
        best = max(compared, key=compared.get)
        probe = UnsureRule(best, 0.0, gaussian if best == "mahalanobis" else None)
        threshold = float(np.quantile(probe.scores(*val_pos), 1 - VAL_FALSE_ALARMS))
        rule = UnsureRule(best, threshold, probe.gaussian, VAL_FALSE_ALARMS)
        record = {
            "task": task.name,
            "model": kind,
            "checkpoint": path.name,
            "score": best,
            "threshold": round(threshold, 6),
            "val_auroc_by_score": compared,
            "val": measure(rule, val_pos, val_negs),
            "val_proxy_flags": float(rule.is_unsure(*out["val_proxy"]).mean()),
            "val_proxy_flags_right": proxy_flags_right(rule, out["val_proxy"], _val(task.name).labels),
            "test_proxy_flags": float(rule.is_unsure(*out["test_proxy"]).mean()),
            "test_proxy_flags_right": proxy_flags_right(rule, out["test_proxy"], _split(task.name, "test").labels),
            "test_proxy_images": len(out["test_proxy"][0]),
            "test": measure(
                rule, out["test"], {n.split(":", 1)[1]: v for n, v in out.items() if n.startswith("test:")}
            ),
            "val_false_alarm_target": VAL_FALSE_ALARMS,
            "fit_images": len(fit),
        }
        record["undetected_pairs"] = undetected_pairs(task, rule, out)
        if holdout is not None:
            record["holdout_false_alarms"] = float(rule.is_unsure(*out["holdout"]).mean())
            record["holdout_images"] = len(holdout)
        shared = {
            other: SHARED_SHAPES[(task.name, other)]
            for other in handwriting_tasks()
            if (task.name, other) in SHARED_SHAPES
        }
        if shared:
            record["shared_shapes"] = shared
        if write:
            save_checkpoint(model, {**meta, "unsure": rule.to_meta()}, path)
            write_json_atomic(record, unsure_eval_path(task, kind))
        records.append(record)
    return records


def undetected_pairs(task: TaskSpec, rule: UnsureRule, out: dict, top: int = 12) -> list[list]:
    """The shapes the rule lets through: the other tasks' test images it does not flag, counted by (their class,
    the class this model reads them as), most frequent first. These name the shapes two tasks share."""
    from collections import Counter

    pairs: Counter = Counter()
    for name, (logits, features) in out.items():
        other = name.split(":", 1)[1] if name.startswith("test:") else None
        if other not in TASKS:
            continue
        labels = _split(other, "test").labels[: len(logits)]
        missed = ~rule.is_unsure(logits, features)
        for label, read in zip(labels[missed], logits[missed].argmax(1)):
            pairs[(f"{get_task(other).label(int(label))}", task.label(int(read)))] += 1
    return [[a, b, n] for (a, b), n in pairs.most_common(top)]


def unsure_eval_path(task: TaskSpec, kind: str):
    return EVAL_DIR / f"{task.name}_{kind.replace('-', '_')}_unsure.json"
