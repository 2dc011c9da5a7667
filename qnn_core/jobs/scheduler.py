"""Submitting, listing and cancelling jobs, and the queue that needs no daemon.

There is no always-on scheduler. `reconcile` runs whenever anyone submits, lists or
cancels a job and whenever a worker ends: inside one write transaction it marks jobs
whose process is gone as failed and starts queued jobs, oldest first, while fewer than
`max_running` are running. The write lock makes concurrent callers take turns.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from qnn_core.jobs import procs, store
from qnn_core.jobs.params import JobParams
from qnn_core.jobs.store import Job, runs_dir

DEFAULT_MAX_RUNNING = 1  # a 2-core machine: one training job at a time
GRACE_S = 10.0
LOG_TAIL_LINES = 30


def max_running() -> int:
    """Concurrent jobs allowed: $QNN_MAX_JOBS, else 1."""
    try:
        return max(1, int(os.environ.get("QNN_MAX_JOBS", DEFAULT_MAX_RUNNING)))
    except ValueError:
        return DEFAULT_MAX_RUNNING


def submit(params: JobParams, runs: str | Path | None = None) -> Job:
    """Validate, queue, and start the job at once if a slot is free. Raises ValueError for bad parameters."""
    params.validate()
    root = runs_dir(runs)
    with store.opened(root) as con:
        job_id = store.insert(con, root, params.task, params.to_dict())
    store.job_dir(root, job_id).mkdir(parents=True, exist_ok=True)
    reconcile(root)
    return get_job(job_id, root, check=False)


def _gone_message(job: Job) -> str:
    return (f"The worker process (pid {job.pid}) ended without reporting a result: it was killed, ran out of "
            "memory, or the machine restarted.")


def _needs_work(con, limit: int) -> bool:
    """A read-only look, so that the page's frequent refreshes rarely take the write lock."""
    running = [store.Job.from_row(r) for r in con.execute("SELECT * FROM jobs WHERE status = 'running'")]
    if any(not procs.is_alive(j.pid, j.pid_started) for j in running):
        return True
    queued = con.execute("SELECT 1 FROM jobs WHERE status = 'queued' LIMIT 1").fetchone()
    return bool(queued) and len(running) < limit


def reconcile(runs: str | Path | None = None, limit: int | None = None) -> None:
    """Mark dead workers' jobs failed, then start queued jobs in order while slots are free."""
    root = runs_dir(runs)
    limit = max_running() if limit is None else limit
    with store.opened(root) as con:
        if not _needs_work(con, limit):
            return
        with store.transaction(con):
            alive = 0
            for row in con.execute("SELECT * FROM jobs WHERE status = 'running'").fetchall():
                job = store.Job.from_row(row)
                if procs.is_alive(job.pid, job.pid_started):
                    alive += 1
                    continue
                con.execute("UPDATE jobs SET status = 'failed', finished_at = ?, error = ?, log_tail = ? WHERE id = ?",
                            (time.time(), _gone_message(job), procs.tail(job.log_path, LOG_TAIL_LINES), job.id))
            while alive < limit:
                row = con.execute("SELECT * FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1").fetchone()
                if row is None:
                    break
                job = store.Job.from_row(row)
                try:
                    pid, started = procs.spawn_worker(job.id, root, Path(job.log_path))
                except OSError as err:
                    con.execute("UPDATE jobs SET status = 'failed', finished_at = ?, error = ? WHERE id = ?",
                                (time.time(), f"Could not start the worker: {err}", job.id))
                    continue
                # Still inside the transaction: the worker waits for this commit before it checks its row.
                con.execute("UPDATE jobs SET status = 'running', started_at = ?, heartbeat_at = ?, pid = ?,"
                            " pid_started = ? WHERE id = ?", (time.time(), time.time(), pid, started, job.id))
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


def cancel(job_id: int, runs: str | Path | None = None, grace_s: float = GRACE_S) -> Job:
    """Stop a queued or running job: SIGTERM, then SIGKILL after the grace period; the job ends 'cancelled'."""
    root = runs_dir(runs)
    with store.opened(root) as con:
        with store.transaction(con):
            job = store.get(con, job_id)
            if job is None:
                raise KeyError(f"There is no job {job_id} in {root}.")
            if job.finished:
                raise ValueError(f"Job {job_id} has already ended ({job.status}).")
            con.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
            if job.status == "queued":
                con.execute("UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE id = ?", (time.time(), job_id))
                return store.get(con, job_id)  # type: ignore[return-value]
        how = procs.terminate(job.pid, job.pid_started, grace_s)
        if how == "killed":
            with open(job.log_path, "a", encoding="utf-8") as log:
                log.write(f"\n[jobs] worker did not stop within {grace_s:g}s of SIGTERM; killed with SIGKILL\n")
        # The worker normally records 'cancelled' itself; this covers SIGKILL or a worker that never got going.
        store.finish(con, job_id, "cancelled", log_tail=procs.tail(job.log_path, LOG_TAIL_LINES))
    reconcile(root)
    return get_job(job_id, root, check=False)
