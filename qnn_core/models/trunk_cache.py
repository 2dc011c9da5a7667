"""A disk cache of frozen-backbone activations, so heads train in minutes on a CPU.

The cache key hashes everything the cached numbers depend on: the backbone's weights and where
it is cut, the preprocessing (size, resampling, normalisation) and the images themselves. Change
any of them and the old file is simply not found, so a stale cache is never used.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from qnn_core.fileio import save_arrays_atomic
from qnn_core.preprocess.tensor import upsample
from qnn_core.tasks import REPO_ROOT, InputSpec

CACHE_DIR = REPO_ROOT / ".cache" / "features"
FORMAT = 2  # bump when the extraction code changes what it stores (2: channels-last trunk)


def images_sha256(images: np.ndarray) -> str:
    h = hashlib.sha256(str(images.shape).encode())
    h.update(np.ascontiguousarray(images).tobytes())
    return h.hexdigest()


def cache_key(backbone, spec: InputSpec, images: np.ndarray) -> str:
    fields = {
        "format": FORMAT,
        "backbone": type(backbone).__name__,
        "weights": backbone.weights_sha256,
        "cut": getattr(backbone, "cut", None),
        "size": spec.size,
        "mean": list(spec.mean),
        "std": list(spec.std),
        "resample": "torch-bicubic",
        "images": images_sha256(images),
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:24]


@torch.no_grad()
def extract(
    backbone, images: np.ndarray, spec: InputSpec, batch_size: int = 50, desc: str = "features", quiet: bool = False
) -> np.ndarray:
    """The backbone trunk's activations for every image, float16, with a progress bar."""
    backbone.eval()
    device = _device(backbone)
    out, t0 = [], time.time()
    for i in tqdm(range(0, len(images), batch_size), desc=desc, unit="batch", file=sys.stderr, disable=quiet):
        out.append(backbone.trunk_features(upsample(images[i : i + batch_size], spec).to(device)).half().cpu().numpy())
    if not quiet:
        print(f"{desc}: {len(images)} images in {time.time() - t0:.0f} s", file=sys.stderr)
    return np.concatenate(out)


def _device(backbone) -> torch.device:
    """Where the backbone's weights are: its inputs go there. The CPU for a stand-in that has none."""
    params = backbone.parameters() if isinstance(backbone, torch.nn.Module) else iter(())
    return next(iter(params), torch.empty(0)).device


CHUNK = 500  # images per cache file: an interrupted extraction keeps what it finished


def trunk_features(
    backbone,
    images: np.ndarray,
    spec: InputSpec,
    cache_dir: Path | None = None,
    desc: str = "features",
    quiet: bool = False,
    chunk: int = CHUNK,
) -> torch.Tensor:
    """Trunk activations of `images` (float16, as cached), computed once per (backbone, preprocessing, images),
    then read from disk.

    The images are cached in chunks of `chunk`, each under the key of its own pixels.
    """
    folder = Path(cache_dir or CACHE_DIR)
    parts, todo = [], []
    for i in range(0, len(images), chunk):
        path = folder / f"{cache_key(backbone, spec, images[i : i + chunk])}.npy"
        parts.append(path)
        if not path.is_file():
            todo.append((i, path))
    if todo:
        folder.mkdir(parents=True, exist_ok=True)
        bar = tqdm(
            total=sum(len(images[i : i + chunk]) for i, _ in todo),
            desc=desc,
            unit="img",
            file=sys.stderr,
            disable=quiet,
        )
        t0 = time.time()
        for i, path in todo:
            feats = extract(backbone, images[i : i + chunk], spec, quiet=True)
            save_arrays_atomic(path, feats)  # a fixed temporary name would let two processes write into one file
            bar.update(len(feats))
        bar.close()
        if not quiet:
            print(f"{desc}: {bar.n} images in {time.time() - t0:.0f} s", file=sys.stderr)
    if not parts:
        return torch.empty(0)
    return torch.from_numpy(np.concatenate([np.load(p) for p in parts]))


def cached_count(
    backbone, images: np.ndarray, spec: InputSpec, cache_dir: Path | None = None, chunk: int = CHUNK
) -> int:
    """How many leading images of `images` already have cached activations."""
    folder, n = Path(cache_dir or CACHE_DIR), 0
    for i in range(0, len(images), chunk):
        if not (folder / f"{cache_key(backbone, spec, images[i : i + chunk])}.npy").is_file():
            break
        n += len(images[i : i + chunk])
    return n


def logits_from_trunk(
    model, feats: torch.Tensor, batch_size: int = 500, quantum: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Logits (and <Z> values) of a model whose backbone takes cached trunk activations (on the CPU, whatever
    device the model is on: the cache and its consumers are numpy)."""
    model.eval()
    device = next(model.parameters()).device
    logits, expvals = [], []
    with torch.no_grad():
        for i in range(0, len(feats), batch_size):
            trunk = feats[i : i + batch_size].to(device)
            lg, ev = model.fuse(*model.branches_from_features(model.backbone.from_trunk(trunk)), quantum=quantum)
            logits.append(lg.cpu())
            if ev is not None:
                expvals.append(ev.cpu())
    return torch.cat(logits), (torch.cat(expvals) if expvals else None)
