"""What the DDP tests launch under torchrun: the real trainer, watched from inside each rank.

Each rank writes `rank<R>.json` into $QNN_PROBE_DIR with the indices its epochs drew and a hash of its final
parameters. With $QNN_PROBE_CRASH_RANK set, that rank raises in its first epoch, as a crashing worker would;
with $QNN_PROBE_STOP_AFTER=N, rank 0 dies right after writing epoch N's resume file, as a killed session would.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from qnn_core.training import cli, distributed, loop

RANK = int(os.environ.get("RANK", "0"))
OUT = Path(os.environ["QNN_PROBE_DIR"])
seen: list[list[int]] = []
params: dict[str, str] = {}

real_shard, real_build = distributed.shard, loop.build_model


def shard(ctx, n, epoch, seed):
    order = real_shard(ctx, n, epoch, seed)
    seen.append(order.tolist())
    return order


def build_model(task, cfg):
    model = real_build(task, cfg)
    params["model"] = model
    return model


def crash(*args, **kwargs):
    raise RuntimeError(f"rank {RANK} crashed on purpose")


real_save = loop.save_resume


def save_then_stop(path, state):
    """The session ends right after rank 0 wrote the resume file of epoch $QNN_PROBE_STOP_AFTER."""
    real_save(path, state)
    if state["epoch"] == int(os.environ["QNN_PROBE_STOP_AFTER"]):
        os._exit(3)


distributed.shard, loop.build_model = shard, build_model
if os.environ.get("QNN_PROBE_CRASH_RANK") == str(RANK):
    loop.run_epoch = crash
if os.environ.get("QNN_PROBE_STOP_AFTER"):
    loop.save_resume = save_then_stop

status = cli.main(sys.argv[1:])
model = params["model"]
digest = hashlib.sha256(b"".join(p.detach().cpu().numpy().tobytes() for p in model.parameters())).hexdigest()
(OUT / f"rank{RANK}.json").write_text(json.dumps({"shards": seen, "params_sha256": digest}))
sys.exit(status)
