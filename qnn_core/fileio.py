"""Atomic writes and content hashes: the one copy of each that the whole package uses.

Checkpoints, caches and result files are read by other processes (the app, a resumed run, a
job's worker) while they may be written, so nothing is ever written in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import numpy as np


def atomic_write(path: str | Path, write: Callable[[str], None], mode: int = 0o644) -> Path:
    """Call `write(tmp_path)` on a temporary file beside `path`, then rename it over `path`.

    A reader sees the old file or the new one, never half of one; a failed write leaves no temporary behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, mode)  # mkstemp makes it private; these files are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_json_atomic(data: object, path: str | Path) -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(data, indent=1, ensure_ascii=False) + "\n")

    return atomic_write(path, write)


def save_arrays_atomic(path: str | Path, array: np.ndarray | None = None, **named: np.ndarray) -> Path:
    """One array as .npy, or named arrays as .npz, written atomically: the caches' chunks are read by other
    processes (a twin started together, the app) while this one may still be writing them."""
    if (array is None) == (not named):
        raise ValueError("give one array (.npy) or named arrays (.npz), not both or neither")

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: numpy would append ".npy"/".npz" to a bare name
            np.save(f, array) if array is not None else np.savez(f, **named)

    return atomic_write(path, write)


def sha256_of_files(paths: Iterable[str | Path]) -> str:
    """One digest over the bytes of several files, in order."""
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


@cache
def file_sha256(path: str) -> str:
    """A file's sha256, remembered per path for the process (weights files do not change under a server)."""
    return sha256_of_files([path])
