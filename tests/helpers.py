"""Helpers the tests share: drawings, a canvas-like MNIST digit, fake jobs in a runs folder. Fixtures live in
conftest.py; these are plain functions, imported as `from helpers import ...`."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent


def draw_digit_one(size=(300, 300), ink=(0, 0, 0, 255), background=(255, 255, 255, 255), width=18) -> Image.Image:
    """A canvas-like drawing of a '1': a slanted vertical stroke with a small flag."""
    img = Image.new("RGBA", size, background)
    d = ImageDraw.Draw(img)
    w, h = size
    d.line([(w * 0.45, h * 0.25), (w * 0.55, h * 0.15), (w * 0.55, h * 0.85)], fill=ink, width=width, joint="curve")
    return img


def mnist_on_canvas(image: np.ndarray, polarity: str, size: int = 280, offset=(30, 10)) -> Image.Image:
    """An MNIST test digit blown up onto a larger canvas, off-centre, in the given polarity."""
    big = Image.fromarray(image).resize((size // 2, size // 2), Image.Resampling.BILINEAR)
    canvas = np.zeros((size, size), np.uint8)
    a = np.asarray(big)
    canvas[offset[1] : offset[1] + a.shape[0], offset[0] : offset[0] + a.shape[1]] = a
    if polarity == "dark-on-light":
        return Image.fromarray(255 - canvas).convert("RGB")
    if polarity == "transparent":
        rgba = np.zeros((size, size, 4), np.uint8)
        rgba[..., :3] = 20  # dark stroke colour
        rgba[..., 3] = canvas  # strokes opaque, background transparent
        return Image.fromarray(rgba, "RGBA")
    return Image.fromarray(canvas).convert("RGB")


def fake_running_job(runs: Path, pid: int | None = None, epochs: int = 1) -> int:
    """A training job written straight into a runs folder: 'running' under `pid` (default: this process,
    which the scheduler sees alive), with ten batches of progress; no worker trains anything."""
    import psutil

    from qnn_core.jobs import store

    params = dict(
        task="mnist", quantum=True, n_qubits=8, q_depth=3, epochs=epochs, lr=3e-3, batch_size=32, seed=0, subset=3000
    )
    proc = psutil.Process(pid)
    with store.opened(runs) as con:
        job_id = store.insert(con, runs, "mnist", params)
        con.execute(
            "UPDATE jobs SET status = 'running', started_at = created_at, pid = ?, pid_started = ? WHERE id = ?",
            (proc.pid, proc.create_time(), job_id),
        )
        for step in range(1, 11):
            store.record_progress(
                con, job_id, dict(event="batch", epoch=1, step=step, steps=10, loss=2.3 / step), step / 10
            )
    return job_id


def finish_fake_job(runs: Path, job_id: int) -> None:
    """Mark a `fake_running_job` done, with an epoch record and a test result."""
    from qnn_core.jobs import store

    with store.opened(runs) as con:
        store.record_progress(con, job_id, dict(event="epoch", epoch=1, val_acc=0.91), 1.0)
        result = {"accuracy": 0.9, "n": 100, "confusion": [[10 if i == j else 0 for j in range(10)] for i in range(10)]}
        assert store.finish(con, job_id, "done", result=result)
