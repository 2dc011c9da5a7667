"""Training images re-made as people's pictures (a canvas, a pen on paper, a phone photo), cached on disk.

The `render` augmentation (preprocess/augment.py) swaps a share of every batch for these renderings, so a
model learns what `prepare` makes of a user's picture, not only of a data set's clean cells. Rendering and
preparing costs a few milliseconds an image, far more than a training step's share, so each training image
gets its renderings once per (images, task input, seed, views), computed in chunks that several processes
(a hybrid and its twin trained side by side) can share: each chunk is written atomically, and a chunk
another process already wrote is read, not made again.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from qnn_core.data import proxies
from qnn_core.fileio import save_arrays_atomic
from qnn_core.models.trunk_cache import images_sha256
from qnn_core.paths import CACHE_ROOT
from qnn_core.tasks import TaskSpec

CACHE_DIR = CACHE_ROOT / "rendered"
CHUNK = 1000
VIEWS = 2  # renderings per training image: each batch draws one of them per image
FORMAT = 2  # bump when proxies.render or preprocess.prepare change what a rendering looks like
# Seeds of the training renderings start here, far from the ones evaluation's proxies use (0, 1, ...).
SEED_BASE = 1_000_003


def chunk_key(images: np.ndarray, task: TaskSpec, seed: int, styles: tuple[str, ...]) -> str:
    fields = {
        "format": FORMAT,
        "input": repr(task.input),
        "seed": seed,
        "styles": list(styles),
        "images": images_sha256(images),
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:24]


def rendered_views(
    images: np.ndarray,
    task: TaskSpec,
    seed: int,
    views: int = VIEWS,
    cache_dir: Path | None = None,
    quiet: bool = False,
) -> np.ndarray:
    """(views, N, size, size) uint8: `views` renderings of every image, each in a style taken in turn, seeded by
    `seed`; from the cache where it has them."""
    folder = Path(cache_dir or CACHE_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    jobs, paths = [], []
    for view in range(views):
        for start in range(0, len(images), CHUNK):
            part = images[start : start + CHUNK]
            # Each chunk its own stream; each view turns the style order, so an image gets every style in turn.
            chunk_seed = SEED_BASE + seed * 7919 + view * 104_729 + start
            turn = view % len(proxies.STYLES)
            styles = proxies.STYLES[turn:] + proxies.STYLES[:turn]
            path = str(folder / f"{chunk_key(part, task, chunk_seed, styles)}.npy")
            paths.append(path)
            if not Path(path).is_file():
                jobs.append((part, chunk_seed, styles, path))
    if jobs:
        # In an order of its own, so processes started together (a hybrid and its twin) share the work.
        random.Random().shuffle(jobs)
        for part, chunk_seed, styles, path in tqdm(
            jobs, desc=f"{task.name} renderings", unit="chunk", file=sys.stderr, disable=quiet
        ):
            if not Path(path).is_file():  # another process may have written it meanwhile
                out = proxies.proxy(part, task, seed=chunk_seed, styles=styles)
                save_arrays_atomic(path, out)
    size = task.input.size
    return np.concatenate([np.load(p) for p in paths]).reshape(views, len(images), size, size)
