"""Starting, recognising and stopping worker processes.

A worker runs in its own session (so its whole process group can be signalled, and a
closed browser tab or a restarted app does not take it down). A pid alone is not an
identity, pids get reused, so a process counts as "ours" only if its start time matches.
A job with several processes is torchrun and its ranks, which torchrun starts in sessions of
their own; stopping a job signals the whole tree.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from qnn_core.tasks import REPO_ROOT

START_TIME_TOLERANCE_S = 0.5


def python_command(python: str, module_args: list[str], processes: int = 1) -> list[str]:
    """`python -m MODULE ARGS`, or under torchrun for several data-parallel processes on this machine
    (`torch.distributed.run` is torchrun's module: the same `python` finds it, whatever PATH says)."""
    if processes <= 1:
        return [python, "-m", *module_args]
    return [
        python,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(processes),
        "-m",
        *module_args,
    ]


def spawn_worker(job_id: int, runs: Path, log_path: Path, processes: int = 1) -> tuple[int, float | None]:
    """Start `qnn jobs worker ID` detached (under torchrun for processes > 1); return its pid and
    start time."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QNN_RUNS_DIR": str(runs), "PYTHONUNBUFFERED": "1"}
    command = python_command(sys.executable, ["qnn_core", "jobs", "worker", str(job_id)], processes)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    # Reap it when it ends so no zombie lingers under a long-lived parent (the Streamlit server).
    threading.Thread(target=proc.wait, name=f"reap-job-{job_id}", daemon=True).start()
    return proc.pid, start_time(proc.pid)


def start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def is_alive(pid: int | None, started: float | None) -> bool:
    """True only for a live, non-zombie process with this pid that started when we recorded."""
    if not pid or started is None:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return abs(proc.create_time() - started) <= START_TIME_TOLERANCE_S
    except psutil.Error:
        return False


def wait_gone(pid: int | None, started: float | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_alive(pid, started):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _signal_tree(pid: int, descendants: list[psutil.Process], sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the worker leads its own session, so its group id is its pid
    except ProcessLookupError:
        pass
    for child in descendants:  # torchrun's ranks, in sessions of their own (psutil checks each is still that one)
        try:
            child.send_signal(sig)
        except psutil.Error:
            pass


def terminate(pid: int | None, started: float | None, grace_s: float = 10.0) -> str:
    """SIGTERM the worker's group and descendants, SIGKILL them after the grace period; 'gone', 'terminated' or
    'killed'."""
    if not is_alive(pid, started):
        return "gone"
    assert pid is not None
    descendants = _descendants(pid)
    _signal_tree(pid, descendants, signal.SIGTERM)
    if wait_gone(pid, started, grace_s):
        return "terminated"
    _signal_tree(pid, descendants, signal.SIGKILL)
    wait_gone(pid, started, 10.0)
    return "killed"


def tail(path: str | Path, lines: int = 30) -> str:
    """The last lines of a log file ('' when it does not exist yet)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
