"""The measurements that need only the project's own stack: latency, throughput, the quantum branch's cost,
the QNN layer's scaling, training speed and peak memory. Each returns a JSON-ready dict."""

from __future__ import annotations

import io
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from qnn_core.data.loaders import data_files, has_split, load_split
from qnn_core.inference.explain import gradcam, overlay
from qnn_core.inference.predict import Predictor
from qnn_core.preprocess.tensor import normalise, to_input
from qnn_core.tasks import REPO_ROOT, TASKS, get_task
from qnn_core.training.train import TrainConfig, train

from .timing import summary_ms, time_calls

BATCH_SIZES = (1, 32, 256)
SCALING_QUBITS = (4, 6, 8, 10, 12)
SCALING_DEPTHS = (1, 2, 3, 4, 5, 6)
# What a served model may cost ("Models at the level of the best published small networks"): a photo task's
# ImageNet backbone gets three times the small handwriting networks' latency, every checkpoint the same size.
PREDICT_P50_GOAL_MS = {"ink": 20.0, "photo": 60.0}  # by the task's input kind
CHECKPOINT_GOAL_MB = 25.0


@dataclass
class Budget:
    """How many timed repeats each section makes; --quick shrinks everything to check that the script works."""

    latency_repeats: int = 40
    batch_repeats: int = 10
    scaling_repeats: int = 3
    scaling_batch: int = 256
    scaling_qubits: tuple[int, ...] = SCALING_QUBITS
    scaling_depths: tuple[int, ...] = SCALING_DEPTHS
    train_batches: int = 10
    train_tasks: tuple[str, ...] | None = None  # training: None is every task
    train_repeats: int = 2
    warmup: int = 3
    sim_batch: int = 256
    sim_repeats: int = 10  # the batched routes, alternated (the fused one takes a few ms)
    sim_loop_repeats: int = 2
    cost_repeats: int = 300  # quantum_cost: single-image predict and batch-1 forward, each model (~2-4 ms a call)
    train_step_batch: int = 128
    train_step_repeats: int = 40  # quantum_cost: training steps of each model, alternated
    epoch_batches: int = 40  # quantum_cost: 12-qubit training steps timed for the epoch estimate (fused)...
    epoch_batches_tq: int = 5  # ... and gate by gate in TorchQuantum
    session_tasks: tuple[str, ...] = ("mnist", "animals")  # the services that the concurrency section's sessions share
    ddp_batches: int = 40  # optimiser steps per process in the data-parallel section's epoch slice
    device_repeats: int = 5  # device: timed runs of each kind
    device_images: int = 200  # device: test images through evaluate --qpu's estimator
    device_devices: tuple[str, ...] = ("fake_kolkata", "fake_washington")  # device: routing figures for these
    device_alternatives: bool = True  # device: also time the simulation choices not taken (about a minute)
    ddp_repeats: int = 2
    classroom_repeats: int = 3  # fresh servers timed to the first canvas (python -m benchmarks.classroom)
    classroom_rounds: int = 5  # rounds of three browsers drawing at once

    @classmethod
    def quick(cls) -> Budget:
        return cls(
            latency_repeats=3,
            batch_repeats=2,
            scaling_repeats=1,
            scaling_batch=16,
            scaling_qubits=(4, 6),
            scaling_depths=(1, 2),
            train_batches=2,
            train_repeats=1,
            train_tasks=("mnist",),
            warmup=1,
            sim_batch=8,
            sim_repeats=1,
            sim_loop_repeats=1,
            session_tasks=("mnist",),
            ddp_batches=2,
            ddp_repeats=1,
            classroom_repeats=1,
            classroom_rounds=1,
            cost_repeats=3,
            train_step_batch=16,
            train_step_repeats=1,
            epoch_batches=1,
            epoch_batches_tq=1,
            device_repeats=1,
            device_images=4,
            device_devices=("fake_kolkata",),
            device_alternatives=False,
        )


def user_files(task_name: str, n: int = 20) -> list[bytes]:
    """Test images as a user would send them: PNGs of 280x280, dark ink on white for handwriting, photos as they are."""
    task = get_task(task_name)
    if task.data.val is not None and not has_split(task, "test"):  # clothes: its own photos, as taken (400 px JPEGs)
        return validation_photo_files(task, n)
    test = load_split(task, "test")
    out = []
    for img in test.images[:n]:
        pic = Image.fromarray(img if task.augment == "garment" else 255 - img).resize(
            (280, 280), Image.Resampling.BILINEAR
        )
        buf = io.BytesIO()
        pic.convert("RGB").save(buf, format="PNG")
        out.append(buf.getvalue())
    return out


def validation_photo_files(task, n: int) -> list[bytes]:
    """The first n JPEGs of a photo task's own validation folder, byte for byte as a user would upload them."""
    with zipfile.ZipFile(data_files(task, "val")[0]) as z:
        names = sorted(x for x in z.namelist() if x.startswith(task.data.val[1] + "/") and x.endswith(".jpg"))
        return [z.read(x) for x in names[:: max(1, len(names) // n)][:n]]


def predict_with_gradcam(predictor: Predictor, source) -> Image.Image:
    """What a task page does for one input: prediction, Grad-CAM for the predicted class, overlay on the image."""
    pred = predictor.predict(source)
    return overlay(pred.prepared, gradcam(predictor.model, pred.prepared, pred.index))


def single_image_latency(budget: Budget, tasks: list[str] | None = None) -> dict:
    """Per task, the shipped hybrid model: a PNG in -> prediction out, and the same plus Grad-CAM and its overlay."""
    out = {}
    for name in tasks or list(TASKS):
        predictor = Predictor(name)
        files = itertools.cycle(user_files(name))
        out[name] = {
            "predict": summary_ms(
                time_calls(lambda: predictor.predict(next(files)), budget.latency_repeats, budget.warmup)
            ),
            "predict_gradcam": summary_ms(
                time_calls(lambda: predict_with_gradcam(predictor, next(files)), budget.latency_repeats, budget.warmup)
            ),
            "checkpoint_mb": round(predictor.checkpoint.stat().st_size / 1e6, 2),
            "goals": {
                "predict_p50_ms": PREDICT_P50_GOAL_MS[get_task(name).input.kind],
                "checkpoint_mb": CHECKPOINT_GOAL_MB,
            },
        }
    return {
        "what": "shipped hybrid checkpoint; input a 280x280 PNG of a test image (bytes); 'predict' = decode + "
        "preprocess + forward (no grad, unitary fast path) + top-5; 'predict_gradcam' adds Grad-CAM "
        "(backward through the eval-mode unitary path) and its overlay on the user's image; "
        "'checkpoint_mb' = the checkpoint file's size",
        "tasks": out,
    }


def test_batch(task_name: str, n: int) -> torch.Tensor:
    task = get_task(task_name)
    images = load_split(task, "test").images
    reps = -(-n // len(images))
    return normalise(to_input(np.concatenate([images] * reps)[:n]), task.input)


def batch_throughput(budget: Budget, task_name: str = "mnist") -> dict:
    """Forward passes of already-normalised test images, no gradients, for the shipped hybrid model."""
    predictor = Predictor(task_name)
    model = predictor.model.eval()
    x_all = test_batch(task_name, max(BATCH_SIZES))
    rows = {}
    with torch.no_grad():
        for bs in BATCH_SIZES:
            x = x_all[:bs]
            s = summary_ms(time_calls(lambda: model(x), budget.batch_repeats, budget.warmup))
            rows[str(bs)] = {**s, "images_per_s": round(bs / (s["p50_ms"] / 1000), 1)}
    return {
        "what": f"{task_name} hybrid checkpoint, forward only, no grad, already-normalised 28x28 tensors "
        "(every task has the same architecture)",
        "batches": rows,
    }


def training_throughput(budget: Budget, threads: int) -> dict:
    """Images/s of the real training loop (augment + forward + backward + AdamW step), hybrid and classical in turn."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in budget.train_tasks or list(TASKS):
            speeds: dict[str, list[float]] = {"hybrid": [], "classical": []}
            for rep in range(budget.train_repeats):
                for variant in speeds:
                    cfg = TrainConfig(
                        task=name,
                        quantum=variant == "hybrid",
                        epochs=1,
                        seed=rep,
                        subset=128 * budget.train_batches,
                        max_batches=budget.train_batches,
                        threads=threads,
                    )
                    meta = train(cfg, Path(tmp) / f"{name}_{variant}.pt", quiet=True)
                    speeds[variant].append(meta["history"][0]["images_per_s"])
            h, c = float(np.median(speeds["hybrid"])), float(np.median(speeds["classical"]))
            out[name] = {
                "hybrid_images_per_s": h,
                "classical_images_per_s": c,
                "ratio_time": round(c / h, 3),
                "repeats": budget.train_repeats,
            }
    return {
        "what": f"qnn_core.training.train.train on {budget.train_batches} batches of 128 (one epoch over a subset, "
        "the first batch included), median over repeats; ratio_time = hybrid time / classical time",
        "tasks": out,
    }


def serve_all_once() -> dict:
    """Run in a fresh process: load every shipped checkpoint, serve one prediction (+ Grad-CAM) from each."""
    import psutil

    def rss_mb() -> float:
        return round(psutil.Process().memory_info().rss / 2**20, 1)

    after_import = rss_mb()
    predictors = [
        Predictor(t.name, t.checkpoint(q)) for t in TASKS.values() for q in (True, False) if t.checkpoint(q).is_file()
    ]
    after_load = rss_mb()
    inputs = {t: user_files(t, 1)[0] for t in TASKS}
    for p in predictors:
        predict_with_gradcam(p, inputs[p.task.name])
    return {
        "models": [p.checkpoint.name for p in predictors],
        "rss_mb_after_import": after_import,
        "rss_mb_after_load": after_load,
        "rss_mb_after_serving": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """This process's own high-water RSS (VmHWM). Not ru_maxrss: Linux carries that across exec, so a child
    started from a big parent would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def peak_memory(threads: int) -> dict:
    """Peak RSS of a separate process that loads all models and serves one prediction each."""
    code = (
        f"import json, torch; torch.set_num_threads({threads}); from benchmarks.sections import serve_all_once; "
        "print(json.dumps(serve_all_once()))"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"serving process failed: {r.stderr[-2000:]}")
    result = json.loads(r.stdout.strip().splitlines()[-1])
    return {
        "what": "a fresh Python process (peak = its VmHWM; the stages = current RSS): imports (torch, TorchQuantum, grad-cam, qnn_core), then "
        "every shipped checkpoint loaded, then one prediction + Grad-CAM from each",
        **result,
    }
