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

__all__ = [
    "JobParams",
    "LIMITS",
    "Job",
    "STATUSES",
    "submit",
    "list_jobs",
    "get_job",
    "cancel",
    "reconcile",
    "job_metrics",
    "job_log",
    "max_running",
    "backend_info",
    "BackendInfo",
    "runs_dir",
    "use_model",
    "revert_to_shipped",
    "active_checkpoint",
    "active_job_id",
    "served",
    "Served",
    "OPERATOR",
    "NotYourJob",
    "QuotaError",
    "Quotas",
    "is_visitor_id",
    "tag",
    "token_matches",
    "format_duration",
    "format_time",
]
