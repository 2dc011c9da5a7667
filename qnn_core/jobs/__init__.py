"""Background training jobs: each runs the trainer in its own OS process, state lives in SQLite.

    python -m qnn_core.jobs submit --task mnist [--model classical --qubits --depth --epochs --lr ...]
    python -m qnn_core.jobs list | show ID | cancel ID | logs ID | use ID | revert TASK

Modules: params (what may be asked), store (the database), procs (worker processes),
scheduler (submit/list/cancel and the daemon-less queue), worker (the training process),
active ("use this model"), text and cli. Nothing here imports Streamlit; torch is only
imported by the worker and by `use_model`.
"""
from qnn_core.jobs.active import active_checkpoint, active_job_id, revert_to_shipped, use_model
from qnn_core.jobs.params import JobParams
from qnn_core.jobs.scheduler import cancel, get_job, job_log, job_metrics, list_jobs, max_running, reconcile, submit
from qnn_core.jobs.store import STATUSES, Job, runs_dir
from qnn_core.jobs.text import format_duration, format_time

__all__ = ["JobParams", "Job", "STATUSES", "submit", "list_jobs", "get_job", "cancel", "reconcile", "job_metrics",
           "job_log", "max_running", "runs_dir", "use_model", "revert_to_shipped", "active_checkpoint",
           "active_job_id", "format_duration", "format_time"]
