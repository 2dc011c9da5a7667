"""The jobs database: one SQLite file per runs directory, shared by the app, the CLI and the workers.

WAL mode lets the page read while a worker writes; every write is one short transaction,
so a killed process never leaves half-recorded metrics behind. Nothing here imports torch.

The database is the app's record of every job, whichever backend runs it (a Ray job's state is
copied in from the cluster, see ray_backend), so an app restart still lists them all. Columns
added since the first schema are ALTERed into an existing file by `migrate` on connect.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qnn_core.jobs.params import model_label, renamed
from qnn_core.tasks import REPO_ROOT

DB_NAME = "jobs.sqlite"
STATUSES = ("queued", "running", "done", "failed", "cancelled")
UNFINISHED = ("queued", "running")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    heartbeat_at REAL,
    pid INTEGER,
    pid_started REAL,
    log_path TEXT NOT NULL DEFAULT '',
    checkpoint_path TEXT NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    progress REAL NOT NULL DEFAULT 0,
    epoch INTEGER,
    step INTEGER,
    steps INTEGER,
    loss REAL,
    train_acc REAL,
    val_acc REAL,
    images_per_s REAL,
    error TEXT,
    log_tail TEXT,
    result TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, id);
CREATE TABLE IF NOT EXISTS metrics (
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    kind TEXT NOT NULL CHECK (kind IN ('batch', 'epoch')),
    epoch INTEGER NOT NULL,
    step INTEGER,
    steps INTEGER,
    loss REAL,
    train_acc REAL,
    val_acc REAL,
    images_per_s REAL,
    epoch_time_s REAL,
    t REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_job ON metrics (job_id, t);
CREATE TABLE IF NOT EXISTS active_models (
    task TEXT PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    checkpoint_path TEXT NOT NULL,
    activated_at REAL NOT NULL
);
"""
# Tables added after the first schema; `migrate` creates them in an existing database.
ADDED_TABLES = (
    # "Use this model" for one visitor's own pages (active_models is the choice served to everyone)
    """CREATE TABLE IF NOT EXISTS visitor_models (
    visitor TEXT NOT NULL,
    task TEXT NOT NULL,
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    checkpoint_path TEXT NOT NULL,
    activated_at REAL NOT NULL,
    PRIMARY KEY (visitor, task)
)""",
    # server settings changed on the page (the quotas), overriding the environment's defaults until reset
    "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
OPERATOR = "operator"  # who submitted a job from the CLI (or before visitors were recorded)
# Added after the first schema, in order; `migrate` ALTERs the missing ones into an existing database (SQLite
# gives every existing row the default without rewriting the table). PRAGMA user_version records the result.
ADDED_COLUMNS = (
    ("backend", "TEXT NOT NULL DEFAULT 'local'"),  # 'local' (an OS process here) or 'ray' (a Ray job)
    ("runs_on", "TEXT"),  # where it runs: this machine's host name, or the Ray node's host and address
    ("ray_address", "TEXT"),  # the Ray dashboard the job was submitted to
    ("ray_submission_id", "TEXT"),
    ("data_root", "TEXT"),  # where a Ray job's node reads the data sets ($QNN_DATA_ROOT there)
    ("reported", "INTEGER NOT NULL DEFAULT 0"),  # a Ray job's progress reports already recorded here
    ("checkpoint_sha256", "TEXT"),  # as the worker reported it; the app's copy was checked against it
    ("remote_checkpoint", "TEXT"),  # where a Ray job's worker wrote the checkpoint, on its node
    ("visitor", f"TEXT NOT NULL DEFAULT '{OPERATOR}'"),  # who submitted it: a browser's visitor id, or the CLI's
)
SCHEMA_VERSION = 3


def runs_dir(path: str | Path | None = None) -> Path:
    """The runs directory: the argument, else $QNN_RUNS_DIR, else runs/ in the repository."""
    return Path(path or os.environ.get("QNN_RUNS_DIR") or REPO_ROOT / "runs").expanduser().resolve()


def db_path(runs: Path) -> Path:
    return runs / DB_NAME


def job_dir(runs: Path, job_id: int) -> Path:
    return runs / "jobs" / str(job_id)


def connect(runs: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with the schema in place."""
    runs.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db_path(runs), timeout=30.0, isolation_level=None)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA busy_timeout = 30000")
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("PRAGMA foreign_keys = ON")
    if not con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'active_models'").fetchone():
        con.executescript(
            SCHEMA + ";\n".join(ADDED_TABLES) + ";"
        )  # only the first time: no write lock on every page refresh
    if con.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        migrate(con)
    return con


def migrate(con: sqlite3.Connection) -> None:
    """Add the columns and tables a database made by an older version lacks (a new one goes through here too)."""
    with transaction(con):  # the write lock: two processes migrating at once take turns, the second adds nothing
        for table in ADDED_TABLES:
            con.execute(table)
        have = {row["name"] for row in con.execute("PRAGMA table_info(jobs)")}
        for name, declaration in ADDED_COLUMNS:
            if name not in have:
                con.execute(f"ALTER TABLE jobs ADD COLUMN {name} {declaration}")
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextmanager
def opened(runs: Path) -> Iterator[sqlite3.Connection]:
    con = connect(runs)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE takes the write lock up front: two schedulers cannot both start the same job.

    Inside a transaction already open on `con` it is part of that one, so the helpers below also serve a
    caller that records several things at once (a Ray job's reports and its end).
    """
    if con.in_transaction:
        yield con
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@dataclass
class Job:
    """One row of the jobs table, decoded."""

    id: int
    task: str
    params: dict[str, Any]
    status: str
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    pid: int | None = None
    pid_started: float | None = None
    log_path: str = ""
    checkpoint_path: str = ""
    cancel_requested: bool = False
    progress: float = 0.0
    epoch: int | None = None
    step: int | None = None
    steps: int | None = None
    loss: float | None = None
    train_acc: float | None = None
    val_acc: float | None = None
    images_per_s: float | None = None
    error: str | None = None
    log_tail: str | None = None
    result: dict[str, Any] | None = field(default=None, repr=False)
    backend: str = "local"
    runs_on: str | None = None
    ray_address: str | None = None
    ray_submission_id: str | None = None
    data_root: str | None = None
    reported: int = 0
    checkpoint_sha256: str | None = None
    remote_checkpoint: str | None = None
    visitor: str = OPERATOR

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        d = dict(row)
        # rows written before the job parameters took the trainer's names are read under the new ones
        d["params"] = renamed(json.loads(d["params"]))
        d["result"] = json.loads(d["result"]) if d["result"] else None
        d["cancel_requested"] = bool(d["cancel_requested"])
        return cls(**d)

    @property
    def finished(self) -> bool:
        return self.status not in UNFINISHED

    @property
    def elapsed_s(self) -> float | None:
        """Seconds since the job started, up to now or to its end."""
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at

    @property
    def eta_s(self) -> float | None:
        """Rough time left for a running job, extrapolated from its progress so far."""
        if self.status != "running" or not self.progress or self.elapsed_s is None:
            return None
        return max(0.0, self.elapsed_s * (1 - self.progress) / self.progress)

    @property
    def model_label(self) -> str:
        p = self.params
        return model_label(p.get("quantum"), p.get("n_qubits"), p.get("q_depth"))

    @property
    def where(self) -> str:
        """'local: host' or 'ray: host (10.0.0.5)'; just the backend until the job is placed."""
        return f"{self.backend}: {self.runs_on}" if self.runs_on else self.backend

    @property
    def test_accuracy(self) -> float | None:
        return self.result.get("accuracy") if self.result else None

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d.update(eta_s=self.eta_s, elapsed_s=self.elapsed_s, model=self.model_label, where=self.where)
        return d


def get(con: sqlite3.Connection, job_id: int) -> Job | None:
    row = con.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return Job.from_row(row) if row else None


def all_jobs(con: sqlite3.Connection) -> list[Job]:
    return [Job.from_row(r) for r in con.execute("SELECT * FROM jobs ORDER BY id DESC")]


def insert(
    con: sqlite3.Connection,
    runs: Path,
    task: str,
    params: dict[str, Any],
    backend: str = "local",
    visitor: str = OPERATOR,
) -> int:
    """A queued job with its backend, its visitor and its log and checkpoint paths (in this runs directory) fixed
    from the start."""
    with transaction(con):
        cur = con.execute(
            "INSERT INTO jobs (task, params, status, created_at, backend, visitor) VALUES (?, ?, 'queued', ?, ?, ?)",
            (task, json.dumps(params), time.time(), backend, visitor),
        )
        job_id = int(cur.lastrowid)
        folder = job_dir(runs, job_id)
        con.execute(
            "UPDATE jobs SET log_path = ?, checkpoint_path = ? WHERE id = ?",
            (str(folder / "train.log"), str(folder / "model.pt"), job_id),
        )
    return job_id


def finish(
    con: sqlite3.Connection,
    job_id: int,
    status: str,
    *,
    error: str | None = None,
    log_tail: str | None = None,
    result: dict | None = None,
) -> bool:
    """Move an unfinished job to a final status; False when it had already ended (first writer wins)."""
    assert status in STATUSES and status not in UNFINISHED
    with transaction(con):
        cur = con.execute(
            "UPDATE jobs SET status = ?, finished_at = ?, error = ?, log_tail = ?, result = ?,"
            " progress = CASE WHEN ? = 'done' THEN 1.0 ELSE progress END"
            " WHERE id = ? AND status IN ('queued', 'running')",
            (status, time.time(), error, log_tail, json.dumps(result) if result is not None else None, status, job_id),
        )
    return cur.rowcount == 1


def update(con: sqlite3.Connection, job_id: int, **columns: Any) -> None:
    """Set some of a job's columns (names as in `Job`)."""
    unknown = set(columns) - set(Job.__dataclass_fields__)
    if unknown:
        raise KeyError(f"no such job column(s): {', '.join(sorted(unknown))}")
    sets = ", ".join(f"{name} = ?" for name in columns)
    with transaction(con):
        con.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*columns.values(), job_id))


def record_progress(con: sqlite3.Connection, job_id: int, event: dict[str, Any], progress: float) -> None:
    """One metrics row and the job's live columns, in one transaction."""
    now = time.time()
    kind = event["event"]
    with transaction(con):
        con.execute(
            "INSERT INTO metrics (job_id, kind, epoch, step, steps, loss, train_acc, val_acc, images_per_s,"
            " epoch_time_s, t) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job_id,
                kind,
                event["epoch"],
                event.get("step"),
                event.get("steps"),
                event.get("loss"),
                event.get("train_acc"),
                event.get("val_acc"),
                event.get("images_per_s"),
                event.get("epoch_time_s"),
                now,
            ),
        )
        con.execute(
            "UPDATE jobs SET progress = ?, epoch = ?, step = COALESCE(?, step), steps = COALESCE(?, steps),"
            " loss = ?, train_acc = ?, images_per_s = ?, val_acc = COALESCE(?, val_acc), heartbeat_at = ?"
            " WHERE id = ?",
            (
                progress,
                event["epoch"],
                event.get("step"),
                event.get("steps"),
                event.get("loss"),
                event.get("train_acc"),
                event.get("images_per_s"),
                event.get("val_acc"),
                now,
                job_id,
            ),
        )


def metrics(con: sqlite3.Connection, job_id: int) -> list[dict[str, Any]]:
    rows = con.execute("SELECT * FROM metrics WHERE job_id = ? ORDER BY t, rowid", (job_id,))
    return [dict(r) for r in rows]
