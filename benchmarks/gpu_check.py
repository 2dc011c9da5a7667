"""The measurements of benchmarks/gpu_check.sh on a machine with a CUDA GPU, written as one JSON file.

One epoch of MNIST training on CUDA (hybrid and classical, images/s, on the carried slice of the training
split), single-image predict p50 on CUDA against the CPU on the same machine, and a 2-process DDP run over
gloo (NCCL refuses two ranks on one GPU). Each part records its own failure instead of stopping the others.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

from benchmarks.timing import summary_ms
from qnn_core.inference.predict import Predictor
from qnn_core.models.checkpoint import read_meta
from qnn_core.tasks import REPO_ROOT
from qnn_core.training.train import TrainConfig, train


def train_epoch(device: str, quantum: bool, data_root: str, max_batches: int | None, amp: str, out: Path) -> dict:
    meta = train(
        TrainConfig(
            task="mnist",
            epochs=1,
            quantum=quantum,
            data_root=data_root,
            device=device,
            amp=amp,
            max_batches=max_batches,
            batch_size=128,
        ),
        out,
        quiet=True,
    )
    h = meta["history"][0]
    return {
        "images_per_s": h["images_per_s"],
        "epoch_time_s": h["epoch_time_s"],
        "val_acc": h["val_acc"],
        "train_size": meta["train_size"],
        "device": meta["device"],
        "amp": amp,
    }


def predict_p50(device: str, repeats: int) -> dict:
    predictor = Predictor("mnist", device=device)
    image = torch.zeros(280, 280, dtype=torch.uint8).numpy()
    image[60:220, 130:150] = 255
    from PIL import Image

    pic = Image.fromarray(image)
    for _ in range(5):
        predictor.predict(pic)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predictor.predict(pic)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return summary_ms(times)


def ddp_gloo(data_root: str, max_batches: int, out: Path) -> dict:
    env = {**os.environ, "QNN_DDP_BACKEND": "gloo", "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "qnn_core",
        "train",
        "--task",
        "mnist",
        "--epochs",
        "1",
        "--max-batches",
        str(max_batches),
        "--device",
        "cuda:0",
        "--data-root",
        data_root,
        "--out",
        str(out),
    ]
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        return {"failed": done.stderr[-2000:]}
    meta = read_meta(out)
    return {
        "images_per_s": meta["history"][0]["images_per_s"],
        "distributed": meta["distributed"],
        "global_batch_size": meta["global_batch_size"],
    }


def part(results: dict, name: str, fn) -> None:
    t0 = time.time()
    try:
        results[name] = fn()
    except Exception as err:  # one broken part must not lose the others
        results[name] = {"failed": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()[-2000:]}
    results[name]["wall_s"] = round(time.time() - t0, 1)
    print(f"[gpu_check] {name}: {json.dumps(results[name])[:300]}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.split("\n")[0])
    p.add_argument("--data-root", required=True, help="a folder with MNIST's four IDX files (a slice will do)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--device", default="cuda", help="cuda (the check); cpu only to try the script without a GPU")
    p.add_argument("--max-batches", type=int, help="cap each epoch (a dry run)")
    p.add_argument("--repeats", type=int, default=200)
    a = p.parse_args(argv)
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    results: dict = {"gpu": gpu, "torch": torch.__version__, "python": platform.python_version(), "device": a.device}
    with tempfile.TemporaryDirectory() as tmp:
        for quantum in (True, False):
            name = f"train_{'hybrid' if quantum else 'classical'}"
            part(
                results,
                name,
                lambda q=quantum: train_epoch(a.device, q, a.data_root, a.max_batches, "off", Path(tmp) / f"{name}.pt"),
            )
        if a.device.startswith("cuda"):
            part(
                results,
                "train_hybrid_bf16",
                lambda: train_epoch(a.device, True, a.data_root, a.max_batches, "bf16", Path(tmp) / "bf16.pt"),
            )
        part(
            results,
            "predict",
            lambda: {"device": predict_p50(a.device, a.repeats), "cpu": predict_p50("cpu", a.repeats)},
        )
        if a.device.startswith("cuda"):
            part(
                results, "ddp_gloo_2_processes", lambda: ddp_gloo(a.data_root, a.max_batches or 40, Path(tmp) / "d.pt")
            )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
