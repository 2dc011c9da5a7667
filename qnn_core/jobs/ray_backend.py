"""The Ray backend: each job is a Ray job, submitted, watched and stopped through Ray's Job Submission API.

Configuration (server side, read from the environment like `ray job submit` reads it):

    RAY_ADDRESS          the cluster's dashboard, http://head:8265 (what `ray job submit` uses)
    QNN_RAY_DATA_ROOT    the data sets' folder as every node mounts it (default: this machine's
                         data folder, right for a cluster whose nodes share this disk layout)
    QNN_RAY_PYTHON       the Python on the nodes that has the project's requirements (default: this app's own
                         interpreter when the cluster's head is on this machine, else `python` from the PATH)
    QNN_RAY_RUNTIME_ENV  JSON merged into the job's runtime_env (e.g. {"env_vars": {...}} or a container)

A submitted job is `JobSubmissionClient.submit_job` with
  - the entrypoint `python -m qnn_core jobs ray-worker`: the same trainer and test evaluation as a local
    job, under torchrun (`python -m torch.distributed.run --standalone --nproc_per_node N`) when the job
    asks for N > 1 processes;
  - a runtime_env whose working_dir is this repository, so the nodes get the code the app runs (Ray zips
    and uploads it once per content; the virtualenv, git data, caches, runs, checkpoints, docs and tests
    stay behind), and env_vars with the job's parameters and QNN_DATA_ROOT = the nodes' data folder;
  - entrypoint_num_cpus = threads × processes (and one GPU per process for device cuda), so Ray places
    it on a node with room.
The job reports through its log (reports.py). `watch`, run by every reconcile, copies new progress into
the SQLite store and mirrors the readable part of the log into the job's train.log; once Ray says the job
ended it records the end: SUCCEEDED with a verified checkpoint (written into the job's folder) and a
result is done; STOPPED is cancelled when this app asked for it, else failed; FAILED (an error, or a
process killed on the cluster) is failed with the worker's error or Ray's message, and the log tail.

Why the queue stays in the app: Ray does hold a job whose resources are busy, but fails it after
RAY_JOB_START_TIMEOUT_SECONDS (15 minutes), shorter than a training run. So the app submits while fewer
than the limit run: $QNN_MAX_JOBS, else one job per CPU of the cluster's alive nodes (State API). Ray is
imported inside the functions, so `qnn jobs list` never pays for it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import secrets
import shlex
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qnn_core.fileio import atomic_write
from qnn_core.jobs import procs, reports, store
from qnn_core.jobs.backends import LOG_TAIL_LINES, StartError
from qnn_core.jobs.params import JobParams
from qnn_core.jobs.store import Job
from qnn_core.paths import REPO_ROOT, SHARED_DATA

WORKER_COMMAND = ["qnn_core", "jobs", "ray-worker"]  # run as `python -m qnn_core jobs ray-worker`
# Not needed on a node (gitignore-style, relative to the repository; Ray also honours .gitignore).
EXCLUDES = (
    ".git",
    ".venv",
    ".cache",
    ".pytest_cache",
    ".ruff_cache",
    "__pycache__",
    "runs",
    "checkpoints",
    "benchmarks",
    "docs",
    "assets",
    "tests",
    "*.pt",
    "*.sqlite",
    "*.sqlite-*",
)
LIMIT_CACHE_S = 30.0
STOP_WAIT_S = 3.0  # Ray's RAY_JOB_STOP_WAIT_TIME_S: SIGTERM, then SIGKILL after this long
RAY_MISSING = "The ray backend needs ray[default]==2.60.0 installed where the app runs (pip install -e '.[ray]')."
# What a job's Python must import before it can report anything (the worker's own imports fail silently in its log).
WORKER_NEEDS = ("psutil", "numpy", "PIL", "scipy", "torch", "torchquantum")


@dataclass(frozen=True)
class RaySettings:
    address: str
    data_root: str
    python: str = "python"
    runtime_env: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> RaySettings:
        address = (os.environ.get("RAY_ADDRESS") or "").strip().rstrip("/")
        if not address:
            raise ValueError(
                "The ray backend needs RAY_ADDRESS, the Ray dashboard's address such as "
                "http://head-node:8265 (or --ray-address)."
            )
        extra = os.environ.get("QNN_RAY_RUNTIME_ENV") or "{}"
        try:
            runtime_env = json.loads(extra)
        except json.JSONDecodeError as err:
            raise ValueError(f"QNN_RAY_RUNTIME_ENV must be a JSON object ({err}).") from None
        if not isinstance(runtime_env, dict):
            raise ValueError("QNN_RAY_RUNTIME_ENV must be a JSON object.")
        return cls(
            address,
            os.environ.get("QNN_RAY_DATA_ROOT") or str(SHARED_DATA),
            os.environ.get("QNN_RAY_PYTHON") or default_python(address),
            runtime_env,
        )


def head_is_local(address: str) -> bool:
    """Whether the Ray dashboard at `address` runs on this machine (so do the jobs of a one-machine cluster)."""
    host = urllib.parse.urlsplit(address if "://" in address else f"http://{address}").hostname or ""
    if host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or host.startswith("127."):
        return True
    try:
        here = {socket.gethostname(), socket.getfqdn(), *socket.gethostbyname_ex(socket.gethostname())[2]}
    except OSError:
        here = {socket.gethostname()}
    return host in here


def default_python(address: str) -> str:
    """The job's Python when QNN_RAY_PYTHON is not set: on a cluster whose head is this machine, the interpreter
    running the app (its venv has the project's requirements); elsewhere `python` from the node's PATH."""
    return sys.executable if head_is_local(address) else "python"


def check_python(python: str) -> None:
    """On this machine, that `python` can import what the worker needs: ValueError with one line naming
    QNN_RAY_PYTHON otherwise, before a job is queued (rather than a job that dies in its log)."""
    probe = (
        "import importlib.util, sys; "
        f"print(' '.join(m for m in {WORKER_NEEDS!r} if importlib.util.find_spec(m) is None))"
    )
    try:
        out = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ValueError(
            f"The Ray jobs' Python {python!r} cannot run ({err.__class__.__name__}): set QNN_RAY_PYTHON to the "
            "project's venv Python."
        ) from None
    missing = out.stdout.strip() if out.returncode == 0 else "the standard library"
    if missing:
        raise ValueError(
            f"The Ray jobs' Python {python!r} cannot import {missing}: set QNN_RAY_PYTHON to a Python that has "
            f"the project's requirements (this app runs {sys.executable})."
        )


@functools.cache
def _checked_python(python: str) -> None:
    """check_python once per interpreter and process (a refusal is not cached: it raises)."""
    check_python(python)


def _quiet_ray_logs() -> None:
    """Ray's SDK logs every package upload at INFO, and warns that it leaves .git and .venv behind (as it should);
    the CLI's output and the server log need neither."""
    for name in (
        "ray._private.runtime_env.packaging",
        "ray._private.runtime_env.working_dir",
        "ray.dashboard.modules.dashboard_sdk",
        "ray.dashboard.modules.job.sdk",
    ):
        logger = logging.getLogger(name)
        logger.setLevel(logging.WARNING)
        logger.addFilter(lambda record: "is now ignored by default" not in record.getMessage())


@functools.cache
def client(address: str):
    """One JobSubmissionClient per address (making one asks the cluster for its version)."""
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError:
        raise ValueError(RAY_MISSING) from None
    _quiet_ray_logs()
    return JobSubmissionClient(address)


def entrypoint(python: str, processes: int) -> str:
    """The shell command Ray runs for the job (the Job Submission API takes one string)."""
    return shlex.join(procs.python_command(python, WORKER_COMMAND, processes))


def runtime_env(settings: RaySettings, params: JobParams, key: str, runs: Path) -> dict[str, Any]:
    excludes = list(EXCLUDES)
    if runs.is_relative_to(REPO_ROOT):  # a runs directory inside the repository stays behind too
        excludes.append(runs.relative_to(REPO_ROOT).as_posix())
    env_vars = {
        "QNN_JOB_PARAMS": json.dumps(params.to_dict()),
        "QNN_JOB_KEY": key,
        "QNN_DATA_ROOT": settings.data_root,
        "PYTHONUNBUFFERED": "1",
    }
    extra = dict(settings.runtime_env)
    env_vars.update(extra.pop("env_vars", {}))
    return {"working_dir": str(REPO_ROOT), "excludes": excludes, **extra, "env_vars": env_vars}


def resources(params: JobParams) -> dict[str, float]:
    """What Ray reserves for the job's entrypoint: its torch threads per process, a GPU per process for cuda."""
    gpus = params.processes if params.device.startswith("cuda") else 0
    return dict(entrypoint_num_cpus=params.threads * params.processes, entrypoint_num_gpus=gpus)


def _not_found(err: Exception) -> bool:
    """The SDK's RuntimeError for an unknown submission id (its documented way of saying so)."""
    return isinstance(err, RuntimeError) and "status code 404" in str(err)


_limits: dict[str, tuple[float, int]] = {}
_node_ips: dict[str, str] = {}


def cluster_cpus(address: str) -> float:
    """CPUs of the cluster's alive nodes, from Ray's State API."""
    from ray.util.state import list_nodes

    nodes = list_nodes(address=address, filters=[("state", "=", "ALIVE")], timeout=10)
    return sum(float(n.resources_total.get("CPU", 0)) for n in nodes)


def _node_ip(address: str, node_id: str | None) -> str | None:
    if not node_id:
        return None
    if node_id not in _node_ips:
        try:
            from ray.util.state import get_node

            node = get_node(node_id, address=address, timeout=10)
        except Exception:  # the State API's own errors as well as the network's: the host name is enough
            return None
        if node is None:
            return None
        _node_ips[node_id] = node.node_ip
    return _node_ips[node_id]


def _same_cluster(address: str | None) -> bool:
    """Ray's SDK always talks to $RAY_ADDRESS when it is set, whatever address it is given: a job submitted to
    another cluster cannot be asked about (and must not be taken for unknown)."""
    current = os.environ.get("RAY_API_SERVER_ADDRESS") or os.environ.get("RAY_ADDRESS")
    return bool(address) and (not current or current.strip().rstrip("/") == address)


@dataclass
class _End:
    status: str
    error: str | None = None
    result: dict[str, Any] | None = None
    columns: dict[str, Any] = field(default_factory=dict)


class RayBackend:
    name = "ray"

    def check(self) -> None:
        """Before a job is queued: the settings are complete and the cluster answers."""
        settings = RaySettings.from_env()
        if head_is_local(settings.address):  # its jobs run here: their Python can be asked now
            _checked_python(settings.python)
        try:
            client(settings.address)
        except (OSError, RuntimeError, ConnectionError) as err:
            raise ValueError(f"Could not reach the Ray cluster at {settings.address}: {err}") from None

    def default_limit(self) -> int:
        address = RaySettings.from_env().address
        cached = _limits.get(address)
        if cached and time.monotonic() - cached[0] < LIMIT_CACHE_S:
            return cached[1]
        try:
            limit = max(1, int(cluster_cpus(address)))
        except ImportError:
            raise ValueError(RAY_MISSING) from None
        except Exception:  # unreachable, or the State API's own errors: one at a time until it answers
            return 1
        _limits[address] = (time.monotonic(), limit)
        return limit

    def start(self, job: Job, runs: Path) -> dict[str, Any]:
        settings = RaySettings.from_env()
        params = JobParams.from_dict(job.params)
        key = f"qnn-job{job.id}-{secrets.token_hex(4)}"  # readable in Ray's dashboard, unique across runs dirs
        try:
            client(settings.address).submit_job(
                entrypoint=entrypoint(settings.python, params.processes),
                submission_id=key,
                runtime_env=runtime_env(settings, params, key, runs),
                metadata={
                    "qnn_job": str(job.id),
                    "task": job.task,
                    "model": job.model_label,
                    "app_host": socket.gethostname(),
                    "runs_dir": str(runs),
                },
                **resources(params),
            )
        except (OSError, RuntimeError, ValueError, TypeError) as err:
            raise StartError(f"Could not submit the job to the Ray cluster at {settings.address}: {err}") from err
        return dict(ray_submission_id=key, ray_address=settings.address, data_root=settings.data_root)

    def gone(self, job: Job) -> str | None:
        return None  # Ray's own status decides, in watch

    def watch(self, runs: Path, job: Job) -> None:
        """Bring a running job's progress, log and (once it ended) its end from the cluster into the store."""
        if not _same_cluster(job.ray_address) or not job.ray_submission_id:
            return
        try:
            ray = client(job.ray_address)
            info = ray.get_job_info(job.ray_submission_id)
            text = ray.get_job_logs(job.ray_submission_id)  # after the status: an ended job's log is complete
        except Exception as err:  # unreachable for now: the job keeps its last known state
            if _not_found(err):
                self._forgotten(runs, job)
            return
        log = reports.parse(text)
        _mirror(job.log_path, log)
        where = self._where(job, info, log)
        progress = log.of("progress")
        if len(progress) == job.reported and where in (None, job.runs_on) and not info.status.is_terminal():
            return  # nothing new: no write lock for the page's every refresh
        with store.opened(runs) as con, store.transaction(con):
            now = store.get(con, job.id)
            if now is None or now.status != "running":
                return  # another reconcile got there first
            for report in progress[now.reported :]:
                store.record_progress(con, job.id, report["event"], float(report["progress"]))
            store.update(con, job.id, reported=len(progress), runs_on=where or now.runs_on)
            if info.status.is_terminal():
                end = _end(now, info, log)
                if info.end_time:  # when it ended on the cluster, not when this app looked
                    end.columns["finished_at"] = info.end_time / 1000
                store.finish(
                    con,
                    job.id,
                    end.status,
                    error=end.error,
                    result=end.result,
                    log_tail=None if end.status == "done" else _tail(log),
                )
                if end.columns:
                    store.update(con, job.id, **end.columns)

    def stop(self, runs: Path, job: Job, grace_s: float) -> None:
        """`stop_job` (Ray sends SIGTERM, then SIGKILL), wait for Ray to say it stopped, record it."""
        if not _same_cluster(job.ray_address) or not job.ray_submission_id:
            return
        ray = client(job.ray_address)
        try:
            ray.stop_job(job.ray_submission_id)
        except RuntimeError as err:
            if not _not_found(err):
                raise OSError(f"Could not stop Ray job {job.ray_submission_id}: {err}") from None
        deadline = time.monotonic() + grace_s + STOP_WAIT_S
        while time.monotonic() < deadline:
            if ray.get_job_status(job.ray_submission_id).is_terminal():
                break
            time.sleep(0.2)
        self.watch(runs, job)

    def _where(self, job: Job, info, log: reports.Log) -> str | None:
        started = log.last("started")
        if started is None:
            return None
        ip = _node_ip(job.ray_address, info.driver_node_id)
        return started["host"] + (f" ({ip})" if ip else "")

    def _forgotten(self, runs: Path, job: Job) -> None:
        with store.opened(runs) as con:
            store.finish(
                con,
                job.id,
                "failed",
                log_tail=procs.tail(job.log_path, LOG_TAIL_LINES),
                error=f"The Ray cluster at {job.ray_address} no longer knows job {job.ray_submission_id} "
                "(was the cluster restarted?).",
            )


def _tail(log: reports.Log) -> str:
    return "\n".join(log.text[-LOG_TAIL_LINES:])


def _mirror(path: str, log: reports.Log) -> None:
    """The readable part of the job's log, in the job's folder: `logs` and the page read it like a local log."""
    text = "\n".join(log.text) + "\n"
    target = Path(path)
    if target.is_file() and target.read_text(encoding="utf-8", errors="replace") == text:
        return
    atomic_write(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _end(job: Job, info, log: reports.Log) -> _End:
    """How a job that Ray says has ended ends here."""
    from ray.job_submission import JobStatus

    if info.status == JobStatus.SUCCEEDED:
        result = log.last("result")
        if result is None:
            return _End("failed", "The job ended without reporting a test result.")
        try:
            data, header = log.checkpoint()
        except reports.TransferError as err:
            return _End("failed", str(err))
        atomic_write(job.checkpoint_path, lambda tmp: Path(tmp).write_bytes(data))
        return _End(
            "done",
            result=result["result"],
            columns=dict(checkpoint_sha256=header["sha256"], remote_checkpoint=header["path"]),
        )
    if info.status == JobStatus.STOPPED:
        if job.cancel_requested:
            return _End("cancelled")
        return _End("failed", "Stopped on the Ray cluster, not by a cancel from this app.")
    reported = log.last("failed")
    if reported is not None:
        return _End("failed", reported["error"])
    # Ray's message goes on with the log's last lines (the log tail has those): its first sentence is enough
    message = (info.message or "no message").strip().splitlines()[0].split(", last available logs")[0]
    return _End("failed", f"The Ray job ended without reporting a result: {message}")
