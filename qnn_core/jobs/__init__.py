"""Background training jobs: each runs the trainer in its own OS process or as a Ray job; state lives in SQLite.

    qnn jobs submit --task mnist [--model classical --qubits --depth --epochs --lr --device ...]
    qnn jobs list | show ID | cancel ID | logs ID | use ID | revert TASK
    qnn jobs --backend ray --ray-address http://head:8265 submit ...   (or QNN_JOBS_BACKEND, RAY_ADDRESS)

Modules: params (what may be asked), store (the database), backends (the seam: local
processes, or ray_backend with its cluster-side ray_worker and the reports it logs), procs
(worker processes), scheduler (submit/list/cancel and the daemon-less queue), worker (the
training process), active ("use this model", per visitor or for everyone), visitors (who submitted a job),
quotas (how much one visitor may queue), text and cli. Nothing here imports Streamlit;
torch is only imported by the workers and by `use_model`, ray only by ray_backend's functions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Each public name and the module it lives in. They are imported on first use (PEP 562), so that a served page,
# which only asks which model to serve (active.py), does not load the scheduler and the backends.
_EXPORTS = {
    "Served": "active",
    "active_checkpoint": "active",
    "active_job_id": "active",
    "revert_to_shipped": "active",
    "served": "active",
    "use_model": "active",
    "LIMITS": "params",
    "JobParams": "params",
    "QuotaError": "quotas",
    "Quotas": "quotas",
    "BackendInfo": "scheduler",
    "NotYourJob": "scheduler",
    "backend_info": "scheduler",
    "cancel": "scheduler",
    "get_job": "scheduler",
    "job_log": "scheduler",
    "job_metrics": "scheduler",
    "list_jobs": "scheduler",
    "max_running": "scheduler",
    "reconcile": "scheduler",
    "submit": "scheduler",
    "OPERATOR": "store",
    "STATUSES": "store",
    "Job": "store",
    "runs_dir": "store",
    "format_duration": "text",
    "format_time": "text",
    "is_visitor_id": "visitors",
    "tag": "visitors",
    "token_matches": "visitors",
}
__all__ = [  # the same names, spelled out for linters
    "BackendInfo",
    "Job",
    "JobParams",
    "LIMITS",
    "NotYourJob",
    "OPERATOR",
    "QuotaError",
    "Quotas",
    "STATUSES",
    "Served",
    "active_checkpoint",
    "active_job_id",
    "backend_info",
    "cancel",
    "format_duration",
    "format_time",
    "get_job",
    "is_visitor_id",
    "job_log",
    "job_metrics",
    "list_jobs",
    "max_running",
    "reconcile",
    "revert_to_shipped",
    "runs_dir",
    "served",
    "submit",
    "tag",
    "token_matches",
    "use_model",
]

if TYPE_CHECKING:
    from qnn_core.jobs.active import Served, active_checkpoint, active_job_id, revert_to_shipped, served, use_model
    from qnn_core.jobs.params import LIMITS, JobParams
    from qnn_core.jobs.quotas import QuotaError, Quotas
    from qnn_core.jobs.scheduler import (
        BackendInfo,
        NotYourJob,
        backend_info,
        cancel,
        get_job,
        job_log,
        job_metrics,
        list_jobs,
        max_running,
        reconcile,
        submit,
    )
    from qnn_core.jobs.store import OPERATOR, STATUSES, Job, runs_dir
    from qnn_core.jobs.text import format_duration, format_time
    from qnn_core.jobs.visitors import is_visitor_id, tag, token_matches


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qnn_core.jobs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"qnn_core.jobs.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
