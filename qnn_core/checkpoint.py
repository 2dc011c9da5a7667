"""Checkpoints: plain tensors + JSON-like metadata, loadable with weights_only=True."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from .model import HybridNet, ModelConfig


class CheckpointError(RuntimeError):
    pass


def save_checkpoint(model: HybridNet, meta: dict, path: str | Path) -> None:
    """Write atomically: a reader never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"state_dict": model.state_dict(), "meta": {**meta, "config": model.config.to_dict()}}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_meta(path: str | Path) -> dict:
    return _load(path)["meta"]


def _load(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path} (train one with: python -m qnn_core.train --task ...)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file
        raise CheckpointError(f"checkpoint {path} could not be read: {err}") from None
    if not isinstance(payload, dict) or "state_dict" not in payload or "meta" not in payload:
        raise CheckpointError(f"{path} is not a qnn_core checkpoint")
    return payload


def load_checkpoint(path: str | Path) -> tuple[HybridNet, dict]:
    """The model in eval mode, and its metadata."""
    payload = _load(path)
    meta = payload["meta"]
    model = HybridNet(ModelConfig.from_dict(meta["config"]))
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model, meta
