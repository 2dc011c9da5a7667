"""What the DDP tests launch under torchrun: the real trainer, watched from inside each rank.

Each rank writes `rank<R>.json` into $QNN_PROBE_DIR with the indices its epochs drew and a hash of its final
parameters. With $QNN_PROBE_CRASH_RANK set, that rank raises in its first epoch, as a crashing worker would.
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


distributed.shard, loop.build_model = shard, build_model
if os.environ.get("QNN_PROBE_CRASH_RANK") == str(RANK):
    loop.run_epoch = crash

status = cli.main(sys.argv[1:])
model = params["model"]
digest = hashlib.sha256(b"".join(p.detach().cpu().numpy().tobytes() for p in model.parameters())).hexdigest()
(OUT / f"rank{RANK}.json").write_text(json.dumps({"shards": seen, "params_sha256": digest}))
sys.exit(status)
