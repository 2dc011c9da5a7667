"""The resume file: everything a run needs to go on from the end of an epoch as if it had never stopped.

A session here is killed after three hours, and a good recipe trains for longer, so after every epoch the
trainer writes `<out stem>.resume.pt` beside its checkpoint (atomically: a kill mid-write leaves the last
one whole). It holds the weights, the optimiser, the schedule, the SWA average, every random stream (each
rank's augmentation generator and torch's own, which drives dropout), the epoch and the record so far;
under DDP each rank's sampler position is its epoch, which `distributed.shard` turns back into the same
shard. `train --resume FILE` rebuilds the run from it; the finished run deletes it, since the checkpoint
then holds all that is worth keeping.
"""

from __future__ import annotations

import io
from dataclasses import fields
from pathlib import Path

import torch
import torch.distributed as dist

from qnn_core.fileio import atomic_write
from qnn_core.training.config import ConfigError, TrainConfig
from qnn_core.training.distributed import Context

FORMAT = 1
KIND = "qnn_core resume file"


class ResumeError(ConfigError):
    """A resume file that cannot be used: missing, not one, or from a run this process cannot continue."""


def resume_path(out: str | Path) -> Path:
    """Where a run writing `out` keeps its resume file: mnist_hybrid.pt -> mnist_hybrid.resume.pt."""
    out = Path(out)
    return out.with_name(out.stem + ".resume.pt")


def rng_states(ctx: Context, g: torch.Generator) -> list[dict]:
    """Every rank's random streams, gathered on all of them (a collective: every rank calls it)."""
    mine = {
        "generator": g.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    if not ctx.distributed:
        return [mine]
    every: list = [None] * ctx.world_size
    dist.all_gather_object(every, mine)
    return every


def restore_rng(ctx: Context, states: list[dict], g: torch.Generator) -> None:
    mine = states[ctx.rank]
    g.set_state(mine["generator"])
    torch.set_rng_state(mine["torch"])
    if mine["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(mine["cuda"])


def save_resume(path: Path, state: dict) -> Path:
    """Write a resume file atomically (one rank: the main one)."""
    buf = io.BytesIO()
    torch.save({"kind": KIND, "format": FORMAT, **state}, buf)
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(buf.getvalue()))


def load_resume(path: str | Path, world_size: int = 1) -> dict:
    """A resume file's contents, or a one-line ResumeError saying why it cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise ResumeError(f"--resume {path}: no such file (a finished run deletes its resume file)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # truncated, tampered or not a torch file at all: one line, not a traceback
        raise ResumeError(f"--resume {path}: not a readable resume file ({type(err).__name__})") from None
    if not isinstance(state, dict) or state.get("kind") != KIND:
        raise ResumeError(f"--resume {path}: not a resume file (a checkpoint? fine-tune from one with --init)")
    if state.get("format") != FORMAT:
        raise ResumeError(
            f"--resume {path}: written by another version of the trainer (format "
            f"{state.get('format')}, this one reads {FORMAT})"
        )
    if len(state["rng"]) != world_size:
        raise ResumeError(
            f"--resume {path}: the run had {len(state['rng'])} process(es), this one {world_size}; "
            "continue it with as many (torchrun --nproc_per_node)"
        )
    return state


def config_from_record(record: dict) -> TrainConfig:
    """The config a resume file stores (`dataclasses.asdict` of the run's, model fields too)."""
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in record.items() if k in known})
