"""Data-parallel training with PyTorch DDP, launched by torchrun: the trainer needs no flag for it.

    torchrun --standalone --nproc_per_node 2 -m qnn_core train --task mnist ...
    torchrun --nnodes 2 --node-rank R --rdzv-backend c10d --rdzv-endpoint HOST:PORT --nproc_per_node N -m qnn_core train ...

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR for every process; a plain `python -m
qnn_core.train` has none of them and runs exactly as before (one process, the seed's own order). Under
torchrun each process draws its shard of every epoch from a `DistributedSampler` (same seed everywhere, so
the shards are disjoint), DDP averages every gradient, the quantum parameters included, and rank 0 alone
validates, writes the checkpoint and shows progress. When a process dies, torchrun's agent stops the others
and prints the failed rank's traceback (`record`); collectives have a timeout so nothing waits forever.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.elastic.multiprocessing.errors import record
from torch.utils.data import DistributedSampler

__all__ = ["Context", "record", "start", "shard", "wrap"]

# Long enough for rank 0 to extract a photo task's trunk features while the others wait at a barrier.
DEFAULT_TIMEOUT_S = 1800


@dataclass(frozen=True)
class Context:
    """Where this process stands in the run: rank 0 of 1 when not launched by torchrun."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        """The process that validates, writes checkpoints and reports progress."""
        return self.rank == 0

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    @contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 does the enclosed work first (e.g. filling a disk cache), the others then find it done."""
        if not self.main:
            self.barrier()
        yield
        if self.main:
            self.barrier()

    def record(self) -> dict | None:
        """What the model card says about the run's parallelism (None for one process)."""
        if not self.distributed:
            return None
        return {"world_size": self.world_size, "backend": self.backend, "launcher": "torchrun"}

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device: torch.device) -> tuple[Context, torch.device]:
    """Join the process group torchrun describes (gloo on CPU, nccl on CUDA); each rank gets its own GPU."""
    if not launched_by_torchrun():
        return Context(), device
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank if device.index is None else device.index)
        torch.cuda.set_device(device)
    # $QNN_DDP_BACKEND=gloo lets several ranks share one GPU (NCCL refuses two ranks on one device).
    backend = os.environ.get("QNN_DDP_BACKEND") or ("nccl" if device.type == "cuda" else "gloo")
    timeout = timedelta(seconds=float(os.environ.get("QNN_DDP_TIMEOUT_S", DEFAULT_TIMEOUT_S)))
    dist.init_process_group(backend, timeout=timeout)
    return Context(dist.get_rank(), dist.get_world_size(), local_rank, backend), device


class _Indices(torch.utils.data.Dataset):
    """Only the length matters to the sampler: the pipelines index their own tensors."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


def shard(ctx: Context, n: int, epoch: int, seed: int) -> torch.Tensor:
    """This rank's training indices for an epoch: a disjoint 1/world_size of a permutation of range(n) shared by
    all ranks (padded with repeats to equal length when n does not divide, as DistributedSampler does)."""
    sampler = DistributedSampler(_Indices(n), num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return torch.tensor(list(sampler), dtype=torch.long)


def shard_size(ctx: Context, n: int) -> int:
    return -(-n // ctx.world_size)


class StepModule(nn.Module):
    """What DDP wraps: one training batch's forward, so gradient averaging sees every pipeline's own forward
    (pixels through the whole model, cached features through the heads only)."""

    def __init__(self, model: nn.Module, forward) -> None:
        super().__init__()
        self.model = model
        self._forward = forward

    def forward(self, idx: torch.Tensor, g: torch.Generator):
        return self._forward(idx, g)


def wrap(ctx: Context, model: nn.Module, forward, device: torch.device):
    """forward(batch indices, generator) -> (logits, labels), under DDP when the run is distributed."""
    if not ctx.distributed:
        return forward
    # TorchQuantum keeps each gate angle as a (1, 1) tensor; DDP's note that their gradients' strides differ
    # from its bucket's is about speed, and for 48 single numbers there is none to gain.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    step = StepModule(model, forward)
    ids = [device.index] if device.type == "cuda" else None
    # Frozen parts (a pretrained trunk) have requires_grad off and are not synchronised; the classical twin
    # and the switched-off branch leave no parameter unused, so unused-parameter search stays off (it is slow).
    return nn.parallel.DistributedDataParallel(step, device_ids=ids)
