"""Checkpoints: plain tensors + JSON-like metadata, loadable with weights_only=True."""

from __future__ import annotations

import hashlib
import pickle
import re
import warnings
from pathlib import Path

import torch

from qnn_core.fileio import atomic_write
from qnn_core.models.hybrid import HybridNet, ModelConfig
from qnn_core.paths import CHECKPOINT_DIR
from qnn_core.tasks import TaskSpec


class CheckpointError(RuntimeError):
    pass


def save_checkpoint(model: HybridNet, meta: dict, path: str | Path) -> None:
    """Write atomically: a reader never sees a half-written file. The tensors are stored as CPU tensors
    whatever device trained them, so every checkpoint loads on any machine."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"state_dict": trained_state(model), "meta": {**meta, "config": model.config.to_dict()}}
    sha = getattr(model.backbone, "weights_sha256", None)
    if sha:  # the frozen part is rebuilt from the installed package; this says which weights it must be
        payload["meta"]["backbone_sha256"] = sha
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def frozen_prefix(model: HybridNet) -> str | None:
    """State-dict prefix of a frozen part that is not stored (a pretrained trunk; a bottleneck's borrowed
    backbone), or None."""
    if model.bottleneck:
        return "backbone."
    prefix = getattr(model.backbone, "frozen_prefix", None)
    return f"backbone.{prefix}" if prefix else None


def trained_state(model: HybridNet) -> dict:
    """The weights this project trained: everything but a pretrained backbone's frozen part."""
    prefix = frozen_prefix(model)
    return {k: v.detach().cpu() for k, v in model.state_dict().items() if not (prefix and k.startswith(prefix))}


def tensors_sha256(state: dict) -> str:
    """One hash of a set of named tensors (names and values), to know that borrowed weights are the same ones."""
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def backbone_state(path: str | Path) -> dict:
    """The backbone weights stored in a checkpoint, under their names inside the backbone."""
    return {k[len("backbone.") :]: v for k, v in _load(path)["state_dict"].items() if k.startswith("backbone.")}


def _borrowed_backbone(path: Path, meta: dict) -> dict:
    """A bottleneck model's backbone: the hybrid checkpoint it was trained on, if that is still the same one."""
    source = meta["backbone_from"]
    donor = CHECKPOINT_DIR / source["checkpoint"]
    retrain = f"retrain it with: qnn train --task {meta.get('task')} --model {meta.get('model_kind')}"
    try:
        state = backbone_state(donor)
    except CheckpointError as err:
        raise CheckpointError(
            f"{path} borrows its backbone from {donor.name}, which cannot be read ({err}); {retrain}"
        ) from None
    if tensors_sha256(state) != source["sha256"]:
        raise CheckpointError(f"{path} was trained on the backbone of an earlier {donor.name}; {retrain}")
    return {f"backbone.{k}": v for k, v in state.items()}


def read_meta(path: str | Path) -> dict:
    return _load(path)["meta"]


def _load(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path} (train one with: qnn train --task ...)")
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols would add lines to the one-line error
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if re.search(r"Unsupported (global|class)", str(err)):  # pickled objects (code), which weights_only refuses
            raise CheckpointError(_not_weights_only(path, err)) from None
        raise CheckpointError(
            f"checkpoint {path} could not be read, truncated or not a checkpoint ({_first_sentence(err)})"
        ) from None
    except Exception as err:  # a truncated or foreign file
        raise CheckpointError(
            f"checkpoint {path} could not be read, truncated or not a checkpoint ({_first_sentence(err)})"
        ) from None
    if not isinstance(payload, dict) or "state_dict" not in payload or "meta" not in payload:
        raise CheckpointError(f"{path} is not a qnn_core checkpoint")
    return payload


def _first_sentence(err: Exception) -> str:
    text = " ".join(str(err).split("\n", 1)[0].split(". ", 1)[0].split()).rstrip(".")
    return f"{type(err).__name__}: {text}" if text and not isinstance(err, KeyError) else type(err).__name__


def _not_weights_only(path: Path, err: Exception) -> str:
    """One line instead of torch's ten: which object the file would have to run code for, where it says."""
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(err))
    what = f" (it pickles {found.group(1)})" if found else ""
    return f"{path} is not a weights-only checkpoint{what}: refused, since loading it could run code"


def check_fits_task(path: str | Path, meta: dict, task: TaskSpec) -> None:
    """Refuse a checkpoint trained for another task or another input size: a model trained on 160 px photos
    still answers for 224 px ones, only worse, so serving it quietly would be a silent loss of accuracy."""
    if meta.get("task") != task.name:
        raise CheckpointError(f"{path} was trained for task {meta.get('task')!r}, not {task.name!r}")
    size = meta.get("input", {}).get("size")
    if size is not None and size != task.input.size:
        raise CheckpointError(
            f"{path} was trained on {size} px input, but the {task.name} task feeds "
            f"{task.input.size} px: retrain it, or set the registry's size back"
        )


def load_checkpoint(path: str | Path) -> tuple[HybridNet, dict]:
    """The model in eval mode, and its metadata."""
    payload = _load(path)
    meta = payload["meta"]
    model = HybridNet(ModelConfig.from_dict(meta["config"]))
    want, have = meta.get("backbone_sha256"), getattr(model.backbone, "weights_sha256", None)
    if want and want != have:
        raise CheckpointError(
            f"{path} was trained on backbone weights {want[:12]}, but the installed ones are {str(have)[:12]}"
        )
    state = payload["state_dict"]
    if "backbone_from" in meta:
        state = {**state, **_borrowed_backbone(Path(path), meta)}
    prefix = None if "backbone_from" in meta else frozen_prefix(model)
    missing, unexpected = model.load_state_dict(state, strict=prefix is None)
    if unexpected or any(not k.startswith(prefix) for k in missing):
        raise CheckpointError(f"{path} does not fit its model (missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.eval()
    return model, meta
