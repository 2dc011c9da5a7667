"""Where training jobs run: the backend seam, chosen by server configuration.

    QNN_JOBS_BACKEND  local (default): an OS process on this machine per job, or
                      ray: a Ray job per job, on the cluster at RAY_ADDRESS (see ray_backend)
    QNN_MAX_JOBS      jobs running at once (default: 1 locally; on Ray, one per CPU of the cluster)

`qnn jobs --backend ray --ray-address URL ...` sets the same for one command.

Both backends keep every job in the one SQLite store of the runs directory, so the page, the CLI
and an app restart see all of them alike; each job records the backend it was started with, and
the scheduler asks that backend to start, watch and stop it. The store and the queue are shared;
only these verbs differ (scheduler.backend(name) gives a job's backend):

    check()                   whether new jobs can go there (ValueError with a sentence: not queued)
    start(job, runs)          -> the columns of the now running job (raises StartError)
    watch(runs, job)          bring a running job's state into the store (a local worker writes its own)
    gone(job)                 why a running job's worker vanished, or None while it may still run
    stop(runs, job, grace_s)  stop a running job; the job ends 'cancelled'
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Protocol

from qnn_core.jobs import procs
from qnn_core.jobs.store import Job

BACKENDS = ("local", "ray")
DEFAULT_MAX_RUNNING = 1  # local: a 2-core machine runs one training job at a time
LOG_TAIL_LINES = 30


class StartError(OSError):
    """A job could not be started; the message says where and why, for the job's error field."""


class Backend(Protocol):
    name: str

    def check(self) -> None: ...

    def default_limit(self) -> int: ...

    def start(self, job: Job, runs: Path) -> dict[str, Any]: ...

    def watch(self, runs: Path, job: Job) -> None: ...

    def gone(self, job: Job) -> str | None: ...

    def stop(self, runs: Path, job: Job, grace_s: float) -> None: ...


class LocalBackend:
    """Today's jobs: `qnn jobs worker ID` in its own session on this machine."""

    name = "local"

    def check(self) -> None:
        """Always possible: the worker is this repository's own Python."""

    def default_limit(self) -> int:
        return DEFAULT_MAX_RUNNING

    def start(self, job: Job, runs: Path) -> dict[str, Any]:
        try:
            pid, started = procs.spawn_worker(job.id, runs, Path(job.log_path), int(job.params.get("processes", 1)))
        except OSError as err:
            raise StartError(f"Could not start the worker: {err}") from err
        return dict(pid=pid, pid_started=started, runs_on=socket.gethostname())

    def watch(self, runs: Path, job: Job) -> None:
        """Nothing to fetch: the worker writes its progress into the store itself."""

    def gone(self, job: Job) -> str | None:
        if procs.is_alive(job.pid, job.pid_started):
            return None
        return (
            f"The worker process (pid {job.pid}) ended without reporting a result: it was killed, ran out of "
            "memory, or the machine restarted."
        )

    def stop(self, runs: Path, job: Job, grace_s: float) -> None:
        how = procs.terminate(job.pid, job.pid_started, grace_s)
        if how == "killed":
            with open(job.log_path, "a", encoding="utf-8") as log:
                log.write(f"\n[jobs] worker did not stop within {grace_s:g}s of SIGTERM; killed with SIGKILL\n")


def configure(backend: str | None = None, ray_address: str | None = None) -> None:
    """The CLI's --backend / --ray-address: the same as the environment variables, for this process and the
    workers it starts (a local worker starts the next queued job as it ends)."""
    if backend:
        os.environ["QNN_JOBS_BACKEND"] = backend
    if ray_address:
        os.environ["RAY_ADDRESS"] = ray_address


def configured_name() -> str:
    name = (os.environ.get("QNN_JOBS_BACKEND") or "local").strip().lower()
    if name not in BACKENDS:
        raise ValueError(f"QNN_JOBS_BACKEND must be one of {', '.join(BACKENDS)} (got {name!r}).")
    return name
