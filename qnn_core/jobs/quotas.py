"""How much one visitor may ask of a shared server: a few jobs each, and a bounded queue.

    QNN_JOBS_PER_VISITOR   queued + running jobs per visitor (default 2)
    QNN_QUEUE_MAX          queued jobs in all, whoever submitted them (default 20)

The teacher can change both on the Training page; those values are stored in the runs directory's database and
override the environment until reset. The CLI (`qnn jobs submit`) is the operator's and is never limited. The
check runs inside the transaction that inserts the job, so two clicks at once cannot both take the last slot.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from qnn_core.jobs import store
from qnn_core.jobs.store import Job
from qnn_core.jobs.text import format_duration

DEFAULTS = {"jobs_per_visitor": 2, "queue_max": 20}
ENV = {"jobs_per_visitor": "QNN_JOBS_PER_VISITOR", "queue_max": "QNN_QUEUE_MAX"}
MAXIMUM = 1000  # a stored or configured quota above this is taken as a typo


class QuotaError(ValueError):
    """A submission refused by a quota; its message is the one line the page shows."""


@dataclass(frozen=True)
class Quotas:
    jobs_per_visitor: int
    queue_max: int
    source: str  # "environment" (or the defaults) or "set on the Training page"

    def validate(self) -> None:
        for name in DEFAULTS:
            value = getattr(self, name)
            if not 1 <= value <= MAXIMUM:
                raise ValueError(f"{name.replace('_', ' ')} must be between 1 and {MAXIMUM}, not {value}.")


def from_env() -> Quotas:
    """The environment's quotas, else the defaults; a value that is not a whole number in range is an error."""
    values = {}
    for name, var in ENV.items():
        raw = os.environ.get(var, "").strip()
        try:
            values[name] = int(raw) if raw else DEFAULTS[name]
        except ValueError:
            raise ValueError(f"{var} must be a whole number, not {raw!r}.") from None
    quotas = Quotas(**values, source="environment")
    quotas.validate()
    return quotas


def current(runs: str | Path | None = None) -> Quotas:
    """The quotas in force: the ones set on the page (stored in the runs database), else the environment's."""
    root = store.runs_dir(runs)
    base = from_env()
    if not store.db_path(root).exists():
        return base
    with store.opened(root) as con:
        rows = dict(con.execute("SELECT key, value FROM settings WHERE key IN (?, ?)", tuple(DEFAULTS)).fetchall())
    if not rows:
        return base
    return Quotas(
        int(rows.get("jobs_per_visitor", base.jobs_per_visitor)),
        int(rows.get("queue_max", base.queue_max)),
        source="set on the Training page",
    )


def set_quotas(jobs_per_visitor: int, queue_max: int, runs: str | Path | None = None) -> Quotas:
    """Store new quotas (the teacher's), overriding the environment until `reset`."""
    quotas = Quotas(int(jobs_per_visitor), int(queue_max), source="set on the Training page")
    quotas.validate()
    with store.opened(store.runs_dir(runs)) as con, store.transaction(con):
        for name in DEFAULTS:
            con.execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (name, str(getattr(quotas, name)))
            )
    return quotas


def reset(runs: str | Path | None = None) -> Quotas:
    """Forget the stored quotas: the environment's (or the defaults) apply again."""
    root = store.runs_dir(runs)
    if store.db_path(root).exists():
        with store.opened(root) as con, store.transaction(con):
            con.execute("DELETE FROM settings WHERE key IN (?, ?)", tuple(DEFAULTS))
    return from_env()


def check(con: sqlite3.Connection, visitor: str, quotas: Quotas) -> None:
    """Raise QuotaError when `visitor` may not queue another job now (call inside the inserting transaction)."""
    mine = [
        Job.from_row(r)
        for r in con.execute("SELECT * FROM jobs WHERE visitor = ? AND status IN ('queued', 'running')", (visitor,))
    ]
    if len(mine) >= quotas.jobs_per_visitor:
        raise QuotaError(
            f"Not started: you already have {len(mine)} job{'s' if len(mine) != 1 else ''} queued or running, the "
            f"limit per visitor is {quotas.jobs_per_visitor}; a slot frees up when one of them ends"
            f"{_soonest(mine)} or you cancel it."
        )
    queued = con.execute("SELECT COUNT(*) FROM jobs WHERE status = 'queued'").fetchone()[0]
    if queued >= quotas.queue_max:
        running = [Job.from_row(r) for r in con.execute("SELECT * FROM jobs WHERE status = 'running'")]
        raise QuotaError(
            f"Not started: the queue is full ({queued} jobs waiting, the limit is {quotas.queue_max}); a slot frees "
            f"up when a running job ends{_soonest(running)} and the next one starts."
        )


def _soonest(jobs: list[Job]) -> str:
    """' (job #5's estimate: about 3 min)' for the running job expected to end first, or '' without an estimate."""
    etas = [(j.eta_s, j.id) for j in jobs if j.eta_s is not None]
    if not etas:
        return ""
    eta, job_id = min(etas)
    return f" (job #{job_id} should end in about {format_duration(eta)})"
