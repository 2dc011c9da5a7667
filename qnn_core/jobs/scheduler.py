"""Submitting, listing and cancelling jobs, and the queue that needs no daemon.

There is no always-on scheduler. `reconcile` runs whenever anyone submits, lists or
cancels a job and whenever a local worker ends: it lets each running job's backend bring
its state in (a Ray job's progress and end come from the cluster), then inside one write
transaction marks jobs whose local process is gone as failed and starts queued jobs,
oldest first, while fewer than `max_running` are running. The write lock makes concurrent
callers take turns. Which backend a new job goes to is server configuration (backends.py);
each job remembers its own.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from qnn_core.jobs import backends, procs, quotas, store
from qnn_core.jobs.backends import LOG_TAIL_LINES, Backend, StartError
from qnn_core.jobs.params import JobParams
from qnn_core.jobs.ray_backend import RayBackend, RaySettings
from qnn_core.jobs.store import OPERATOR, Job, runs_dir
from qnn_core.jobs.visitors import check_visitor

__all__ = [
    "LOG_TAIL_LINES",
    "BackendInfo",
    "NotYourJob",
    "backend",
    "backend_info",
    "cancel",
    "get_job",
    "job_log",
    "job_metrics",
    "list_jobs",
    "max_running",
    "reconcile",
    "submit",
]
GRACE_S = 10.0


class NotYourJob(ValueError):
    """A visitor tried to cancel a job that someone else submitted."""


def backend(name: str) -> Backend:
    """The backend called `name` ('local' or 'ray')."""
    if name == "local":
        return backends.LocalBackend()
    if name == "ray":
        return RayBackend()
    raise ValueError(f"Unknown jobs backend {name!r}; choose one of: {', '.join(backends.BACKENDS)}.")


def configured_backend() -> Backend:
    """The backend new jobs go to: $QNN_JOBS_BACKEND (or --backend), local by default."""
    return backend(backends.configured_name())


def max_running() -> int:
    """Jobs running at once: $QNN_MAX_JOBS, else the configured backend's default (1 here; on Ray, one per
    CPU of the cluster)."""
    try:
        return max(1, int(os.environ["QNN_MAX_JOBS"]))
    except (KeyError, ValueError):
        return configured_backend().default_limit()


@dataclass(frozen=True)
class BackendInfo:
    """What the Training page and the CLI say about where new jobs run."""

    name: str
    limit: int
    where: str  # 'this machine (host)' or 'the Ray cluster at http://…'
    data_root: str | None = None  # ray: the data sets' folder on the nodes


def backend_info() -> BackendInfo:
    chosen = configured_backend()
    if chosen.name == "ray":
        settings = RaySettings.from_env()
        return BackendInfo("ray", max_running(), f"the Ray cluster at {settings.address}", settings.data_root)
    return BackendInfo("local", max_running(), f"this machine ({socket.gethostname()})")


def submit(params: JobParams, runs: str | Path | None = None, visitor: str = OPERATOR, limited: bool = True) -> Job:
    """Validate, queue, and start the job at once if a slot is free. Raises ValueError for bad parameters, or a
    backend that cannot take jobs (a Ray cluster that does not answer), before anything is recorded.

    The job belongs to `visitor` (a browser's visitor id; the CLI's jobs are the operator's). A visitor's
    submission is refused with a QuotaError (a ValueError) past the quotas, unless `limited` is False (the
    teacher's); the operator's never is.
    """
    params.validate()
    check_visitor(visitor)
    chosen = configured_backend()
    chosen.check()
    root = runs_dir(runs)
    limits = quotas.current(root) if limited and visitor != OPERATOR else None
    with store.opened(root) as con, store.transaction(con):
        if limits is not None:
            quotas.check(con, visitor, limits)
        job_id = store.insert(con, root, params.task, params.to_dict(), backend=chosen.name, visitor=visitor)
    store.job_dir(root, job_id).mkdir(parents=True, exist_ok=True)
    reconcile(root)
    return get_job(job_id, root, check=False)


def _running(con) -> list[Job]:
    return [Job.from_row(r) for r in con.execute("SELECT * FROM jobs WHERE status = 'running'")]


def _needs_work(con, limit: int) -> bool:
    """A read-only look, so that the page's frequent refreshes rarely take the write lock."""
    running = _running(con)
    if any(backend(j.backend).gone(j) for j in running):
        return True
    queued = con.execute("SELECT 1 FROM jobs WHERE status = 'queued' LIMIT 1").fetchone()
    return bool(queued) and len(running) < limit


def reconcile(runs: str | Path | None = None, limit: int | None = None) -> None:
    """Bring running jobs' state in, mark dead workers' jobs failed, then start queued jobs in order while slots
    are free."""
    root = runs_dir(runs)
    with store.opened(root) as con:
        running = _running(con)
    for job in running:  # outside the write lock: a Ray job's state comes over the network
        backend(job.backend).watch(root, job)
    with store.opened(root) as con:
        limit = max_running() if limit is None else limit
        if not _needs_work(con, limit):
            return
        with store.transaction(con):
            alive = 0
            for job in _running(con):
                message = backend(job.backend).gone(job)
                if message is None:
                    alive += 1
                    continue
                con.execute(
                    "UPDATE jobs SET status = 'failed', finished_at = ?, error = ?, log_tail = ? WHERE id = ?",
                    (time.time(), message, procs.tail(job.log_path, LOG_TAIL_LINES), job.id),
                )
            while alive < limit:
                row = con.execute("SELECT * FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1").fetchone()
                if row is None:
                    break
                job = Job.from_row(row)
                try:
                    columns = backend(job.backend).start(job, root)
                except (StartError, ValueError) as err:
                    con.execute(
                        "UPDATE jobs SET status = 'failed', finished_at = ?, error = ? WHERE id = ?",
                        (time.time(), str(err), job.id),
                    )
                    continue
                # Still inside the transaction: a local worker waits for this commit before it checks its row.
                store.update(con, job.id, status="running", started_at=time.time(), heartbeat_at=time.time(), **columns)
                alive += 1


def list_jobs(runs: str | Path | None = None, check: bool = True) -> list[Job]:
    """Every job, newest first, after a reconcile (so dead workers show as failed)."""
    root = runs_dir(runs)
    if check:
        reconcile(root)
    with store.opened(root) as con:
        return store.all_jobs(con)


def get_job(job_id: int, runs: str | Path | None = None, check: bool = True) -> Job:
    """One job; raises KeyError with a readable message when there is no such job."""
    root = runs_dir(runs)
    if check:
        reconcile(root)
    with store.opened(root) as con:
        job = store.get(con, job_id)
    if job is None:
        raise KeyError(f"There is no job {job_id} in {root}.")
    return job


def job_metrics(job_id: int, runs: str | Path | None = None) -> list[dict]:
    """Per-epoch and periodic in-epoch metrics, oldest first."""
    with store.opened(runs_dir(runs)) as con:
        return store.metrics(con, job_id)


def job_log(job_id: int, runs: str | Path | None = None, lines: int = LOG_TAIL_LINES) -> str:
    return procs.tail(get_job(job_id, runs, check=False).log_path, lines)


def cancel(job_id: int, runs: str | Path | None = None, grace_s: float = GRACE_S, visitor: str | None = None) -> Job:
    """Stop a queued or running job: SIGTERM, then SIGKILL after the grace period; the job ends 'cancelled'.

    With `visitor` given, only that visitor's own job (NotYourJob otherwise); None is the operator or the teacher,
    who may cancel any job.
    """
    root = runs_dir(runs)
    with store.opened(root) as con:
        with store.transaction(con):
            job = store.get(con, job_id)
            if job is None:
                raise KeyError(f"There is no job {job_id} in {root}.")
            if visitor is not None and job.visitor != visitor:
                raise NotYourJob(f"Job #{job_id} is not yours: only whoever started it, or the teacher, can cancel it.")
            if job.finished:
                raise ValueError(f"Job {job_id} has already ended ({job.status}).")
            con.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
            if job.status == "queued":
                con.execute("UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE id = ?", (time.time(), job_id))
                return store.get(con, job_id)  # type: ignore[return-value]
        backend(job.backend).stop(root, job, grace_s)
        # The worker (or, for Ray, `stop`) normally records 'cancelled'; this covers SIGKILL or a worker that never
        # got going.
        store.finish(con, job_id, "cancelled", log_tail=procs.tail(job.log_path, LOG_TAIL_LINES))
    reconcile(root)
    return get_job(job_id, root, check=False)
