"""'Use this model': which checkpoint a task's pages serve, per visitor and for everyone, per runs directory.

A visitor's choice serves their own pages only (table visitor_models); the teacher's, or the operator's from the
CLI, serves everyone (table active_models). A visitor's pages show their own choice first, else everyone's, else
the shipped checkpoint. The shipped checkpoints are never overwritten; a choice is one row in the runs directory's
database, so "revert to shipped" is just deleting that row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from qnn_core.jobs import store
from qnn_core.jobs.store import runs_dir
from qnn_core.jobs.visitors import check_visitor
from qnn_core.tasks import get_task

SCOPES = ("yours", "everyone", "shipped")


@dataclass(frozen=True)
class Served:
    """The model a task's pages serve to one visitor, and why."""

    checkpoint: Path
    job_id: int | None  # None: the shipped checkpoint
    scope: str  # 'yours' (this visitor chose it), 'everyone' (the teacher's or operator's choice) or 'shipped'


def use_model(job_id: int, task: str | None = None, runs: str | Path | None = None, visitor: str | None = None) -> Path:
    """Make a finished job's checkpoint the one its task's pages use; returns that checkpoint.

    With `visitor`, for that visitor's pages only; without, for everyone. With `task` given, refuse a job trained
    for another task.
    """
    from qnn_core.models.checkpoint import CheckpointError, read_meta  # torch; only needed here

    if visitor is not None:
        check_visitor(visitor)
    root = runs_dir(runs)
    with store.opened(root) as con:  # not the scheduler's get_job: a served page must not import the backends
        job = store.get(con, job_id)
    if job is None:
        raise KeyError(f"There is no job {job_id} in {root}.")
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
        if visitor is None:
            con.execute(
                "INSERT OR REPLACE INTO active_models (task, job_id, checkpoint_path, activated_at) VALUES (?, ?, ?, ?)",
                (job.task, job.id, str(ckpt), time.time()),
            )
        else:
            con.execute(
                "INSERT OR REPLACE INTO visitor_models (visitor, task, job_id, checkpoint_path, activated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (visitor, job.task, job.id, str(ckpt), time.time()),
            )
    return ckpt


def revert_to_shipped(task: str, runs: str | Path | None = None, visitor: str | None = None) -> Path:
    """Drop the task's choice, the visitor's own (with `visitor`) or everyone's (without); returns the checkpoint
    served after it (for a visitor, everyone's choice where there is one)."""
    spec = get_task(task)
    root = runs_dir(runs)
    if store.db_path(root).exists():
        with store.opened(root) as con, store.transaction(con):
            if visitor is None:
                con.execute("DELETE FROM active_models WHERE task = ?", (spec.name,))
            else:
                con.execute("DELETE FROM visitor_models WHERE visitor = ? AND task = ?", (visitor, spec.name))
    return served(spec.name, root, visitor).checkpoint


def served(task: str, runs: str | Path | None = None, visitor: str | None = None) -> Served:
    """The checkpoint a task's pages load for `visitor` (None: what everyone gets): their own choice, else
    everyone's, else the shipped hybrid. A chosen checkpoint that has since been deleted is skipped."""
    spec = get_task(task)
    root = runs_dir(runs)
    if store.db_path(root).exists():
        with store.opened(root) as con:
            rows = []
            if visitor is not None:
                rows.append(
                    (
                        "yours",
                        con.execute(
                            "SELECT job_id, checkpoint_path FROM visitor_models WHERE visitor = ? AND task = ?",
                            (visitor, spec.name),
                        ).fetchone(),
                    )
                )
            rows.append(
                (
                    "everyone",
                    con.execute(
                        "SELECT job_id, checkpoint_path FROM active_models WHERE task = ?", (spec.name,)
                    ).fetchone(),
                )
            )
        for scope, row in rows:
            if row is not None and Path(row["checkpoint_path"]).is_file():
                return Served(Path(row["checkpoint_path"]), int(row["job_id"]), scope)
    return Served(spec.checkpoint(True), None, "shipped")


def active_job_id(task: str, runs: str | Path | None = None, visitor: str | None = None) -> int | None:
    """The job whose model the task's pages use (for `visitor`, else for everyone), or None for the shipped one."""
    return served(task, runs, visitor).job_id


def active_checkpoint(task_name: str, runs_dir: str | Path | None = None, visitor: str | None = None) -> Path:
    """The checkpoint a task's pages should load: a job's model if one was chosen, else the shipped hybrid."""
    return served(task_name, runs_dir, visitor).checkpoint
