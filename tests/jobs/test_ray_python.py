"""Ray on one machine, as a newcomer tries it: a head started from the venv takes jobs without QNN_RAY_PYTHON, and a
Python that cannot run the worker is refused at once, in one line naming QNN_RAY_PYTHON. No cluster is started."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from qnn_core import jobs
from qnn_core.jobs import ray_backend
from qnn_core.jobs.ray_backend import RaySettings, check_python, default_python, head_is_local


@pytest.mark.parametrize(
    "address", ["http://127.0.0.1:8265", "http://localhost:8265", "127.0.0.1:8265", f"http://{socket.gethostname()}:1"]
)
def test_a_head_on_this_machine_is_recognised(address):
    assert head_is_local(address)
    assert default_python(address) == sys.executable


def test_a_remote_head_keeps_the_nodes_python_and_the_variable_wins(monkeypatch):
    assert not head_is_local("http://head-node.invalid:8265")
    assert default_python("http://head-node.invalid:8265") == "python"
    monkeypatch.setenv("RAY_ADDRESS", "http://127.0.0.1:8265")
    monkeypatch.delenv("QNN_RAY_PYTHON", raising=False)
    assert RaySettings.from_env().python == sys.executable
    monkeypatch.setenv("QNN_RAY_PYTHON", "/opt/py/bin/python")
    assert RaySettings.from_env().python == "/opt/py/bin/python"


def test_the_apps_own_python_passes_the_check():
    check_python(sys.executable)


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="no system Python to try")
def test_a_python_without_the_requirements_is_refused_in_one_line():
    with pytest.raises(ValueError, match=r"cannot import .*psutil.*QNN_RAY_PYTHON") as err:
        check_python("/usr/bin/python3")
    assert "\n" not in str(err.value)


def test_a_bad_python_is_refused_before_anything_is_queued(tmp_path, monkeypatch):
    monkeypatch.setenv("QNN_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("QNN_JOBS_BACKEND", "ray")
    monkeypatch.setenv("RAY_ADDRESS", "http://127.0.0.1:9")  # nothing listens: the Python is checked first
    monkeypatch.setenv("QNN_RAY_PYTHON", str(tmp_path / "no-such-python"))
    with pytest.raises(ValueError, match="QNN_RAY_PYTHON"):
        jobs.submit(jobs.JobParams())
    assert jobs.list_jobs(tmp_path, check=False) == []
    assert ray_backend.WORKER_NEEDS[0] == "psutil"  # the module whose absence a newcomer met first
