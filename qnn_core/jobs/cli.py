"""qnn jobs [--runs DIR] [--backend local|ray --ray-address URL] submit|list|show|cancel|logs|use|revert ...

(and the internal `worker ID`). --backend and --ray-address are $QNN_JOBS_BACKEND and $RAY_ADDRESS for one command.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import sys

from qnn_core.cli_args import MODELS, add_json, positive_int
from qnn_core.devices import add_device
from qnn_core.jobs import active, backends, scheduler, text
from qnn_core.jobs.params import JobParams
from qnn_core.settings import add_setting_flags, flagged_fields


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qnn jobs", description="Background training jobs.")
    p.add_argument("--runs", help="runs directory (default: $QNN_RUNS_DIR, else runs/ in the repository)")
    p.add_argument(
        "--backend",
        choices=backends.BACKENDS,
        help="where new jobs run: local processes or a Ray cluster (default: $QNN_JOBS_BACKEND, else local)",
    )
    p.add_argument(
        "--ray-address",
        metavar="URL",
        help="the Ray dashboard, e.g. http://head:8265 (default: $RAY_ADDRESS, as `ray job submit`)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("submit", help="queue a training job (starts at once when no other job is running)")
    s.add_argument("--task", required=True)
    s.add_argument(
        "--model",
        choices=MODELS[:2],
        default="hybrid",
        help="train the hybrid or its classical-only twin (default %(default)s)",
    )
    add_setting_flags(s, JobParams, unset=False)  # the trainer's flags, with a job's defaults (settings.py)
    s.add_argument(
        "--limit", type=positive_int, help="evaluate on the first N test images (default: all; 2000 for a subset demo)"
    )
    s.add_argument(
        "--processes",
        type=int,
        default=JobParams.processes,
        help="data-parallel training processes under torchrun (default %(default)s)",
    )
    add_device(s, default=JobParams.device)
    add_json(s, "the queued job")
    ls = sub.add_parser("list", help="all jobs, newest first")
    add_json(ls, "the jobs")
    sh = sub.add_parser("show", help="one job's parameters, progress, metrics and result")
    sh.add_argument("id", type=int)
    add_json(sh, "the job, its metrics and its evaluation")
    c = sub.add_parser("cancel", help="stop a queued or running job")
    c.add_argument("id", type=int)
    lg = sub.add_parser("logs", help="the end of a job's log")
    lg.add_argument("id", type=int)
    lg.add_argument("-n", "--lines", type=int, default=40)
    u = sub.add_parser("use", help="serve a finished job's model on its task's pages")
    u.add_argument("id", type=int)
    u.add_argument("--task", help="refuse unless the job was trained for this task")
    r = sub.add_parser("revert", help="serve the shipped model again")
    r.add_argument("task")
    w = sub.add_parser("worker", help=argparse.SUPPRESS)
    w.add_argument("id", type=int)
    sub.add_parser("ray-worker", help=argparse.SUPPRESS)  # a Ray job's entrypoint (jobs/ray_backend.py)
    return p


def _params(a: argparse.Namespace) -> JobParams:
    named = {f.name: getattr(a, f.name) for f in flagged_fields(JobParams)}
    named["subset"] = named["subset"] or None  # 0: the whole training split
    return JobParams(
        task=a.task, quantum=a.model == "hybrid", limit=a.limit, processes=a.processes, device=a.device, **named
    )


def _dump(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=1))


def run(a: argparse.Namespace) -> int:
    backends.configure(a.backend, a.ray_address)
    if a.command == "worker":
        from qnn_core.jobs import worker

        return worker.run(a.id)
    if a.command == "ray-worker":
        from qnn_core.jobs import ray_worker

        return ray_worker.main()
    if a.command == "submit":
        job = scheduler.submit(_params(a), a.runs)
        _dump(job.to_dict()) if a.json else print(
            f"job {job.id} {job.status}: {job.task}, {job.model_label} ({job.where})"
        )
    elif a.command == "list":
        jobs = scheduler.list_jobs(a.runs)
        _dump([j.to_dict() for j in jobs]) if a.json else print(text.jobs_table(jobs))
    elif a.command == "show":
        job = scheduler.get_job(a.id, a.runs)
        metrics = scheduler.job_metrics(a.id, a.runs)
        _dump({**job.to_dict(), "metrics": metrics}) if a.json else print(text.job_details(job, metrics))
    elif a.command == "cancel":
        job = scheduler.cancel(a.id, a.runs)
        print(f"job {job.id} {job.status}")
    elif a.command == "logs":
        print(scheduler.job_log(a.id, a.runs, a.lines))
    elif a.command == "use":
        path = active.use_model(a.id, a.task, a.runs)
        job = scheduler.get_job(a.id, a.runs, check=False)
        print(f"the {job.task} pages now use job {a.id}'s model ({path})")
    elif a.command == "revert":
        path = active.revert_to_shipped(a.task, a.runs)
        print(f"the {a.task} pages use the shipped model again ({path})")
    return 0


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `... logs 3 | head` ends quietly
    try:
        return run(a)
    except KeyError as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
    except (ValueError, OSError, sqlite3.Error) as err:
        print(f"error: {err}", file=sys.stderr)
    return 2
