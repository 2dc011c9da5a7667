"""'Use this model': which checkpoint a task's pages serve, per runs directory.

The shipped checkpoints are never overwritten; an override is one row in the runs
directory's database, so "revert to shipped" is just deleting that row.
"""

from __future__ import annotations

import time
from pathlib import Path

from qnn_core.jobs import store
from qnn_core.jobs.scheduler import get_job
from qnn_core.jobs.store import runs_dir
from qnn_core.tasks import get_task


def use_model(job_id: int, task: str | None = None, runs: str | Path | None = None) -> Path:
    """Make a finished job's checkpoint the one its task's pages use; returns that checkpoint.

    With `task` given, refuse a job trained for another task.
    """
    from qnn_core.models.checkpoint import CheckpointError, read_meta  # torch; only needed here

    root = runs_dir(runs)
    job = get_job(job_id, root, check=False)
    if task is not None and job.task != task:
        raise ValueError(f"Job {job_id} was trained for {job.task!r}, not {task!r}.")
    if job.status != "done":
        raise ValueError(f"Job {job_id} is {job.status}; only a finished job's model can be used.")
    ckpt = Path(job.checkpoint_path)
    try:
        trained_for = read_meta(ckpt).get("task")
    except CheckpointError as err:
        raise ValueError(str(err)) from None
    if trained_for != job.task:
        raise ValueError(f"{ckpt} holds a model for {trained_for!r}, not {job.task!r}.")
    with store.opened(root) as con, store.transaction(con):
        con.execute(
            "INSERT OR REPLACE INTO active_models (task, job_id, checkpoint_path, activated_at) VALUES (?, ?, ?, ?)",
            (job.task, job.id, str(ckpt), time.time()),
        )
    return ckpt


def revert_to_shipped(task: str, runs: str | Path | None = None) -> Path:
    """Drop the task's override; returns the shipped checkpoint it serves again."""
    spec = get_task(task)
    root = runs_dir(runs)
    if store.db_path(root).exists():
        with store.opened(root) as con, store.transaction(con):
            con.execute("DELETE FROM active_models WHERE task = ?", (spec.name,))
    return spec.checkpoint(True)


def active_job_id(task: str, runs: str | Path | None = None) -> int | None:
    """The job whose model the task's pages use, or None for the shipped model."""
    root = runs_dir(runs)
    if not store.db_path(root).exists():
        return None
    with store.opened(root) as con:
        row = con.execute("SELECT job_id, checkpoint_path FROM active_models WHERE task = ?", (task,)).fetchone()
    if row is None or not Path(row["checkpoint_path"]).is_file():
        return None
    return int(row["job_id"])


def active_checkpoint(task_name: str, runs_dir: str | Path | None = None) -> Path:
    """The checkpoint a task's pages should load: a job's model if one was chosen, else the shipped hybrid."""
    spec = get_task(task_name)
    root = store.runs_dir(runs_dir)
    if store.db_path(root).exists():
        with store.opened(root) as con:
            row = con.execute("SELECT checkpoint_path FROM active_models WHERE task = ?", (spec.name,)).fetchone()
        if row is not None and Path(row["checkpoint_path"]).is_file():
            return Path(row["checkpoint_path"])
    return spec.checkpoint(True)
