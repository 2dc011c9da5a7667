"""One TaskService shared by several sessions' threads gives each the single-threaded answer, and survives.

The threads run in a subprocess (thread_harness.py), so that a crash (the segmentation fault that hooks on a
shared model caused) fails this test instead of killing pytest.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qnn_core.tasks import get_task

pytestmark = pytest.mark.slow

HARNESS = Path(__file__).with_name("thread_harness.py")


def test_threads_sharing_one_service_get_single_threaded_results() -> None:
    task = "mnist"
    if not get_task(task).checkpoint().is_file():
        pytest.skip(f"no shipped {task} checkpoint")
    r = subprocess.run(
        [sys.executable, str(HARNESS), "--task", task, "--threads", "4", "--rounds", "2"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, f"exit {r.returncode} (negative: killed by that signal)\n{r.stdout}\n{r.stderr[-3000:]}"
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["calls"] == 4 * 2 * 24 and report["mismatches"] == 0 and not report["errors"]


def test_the_harness_detects_a_wrong_answer(monkeypatch) -> None:
    """The comparison can fail: a service whose answers change between calls is reported."""
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("thread_harness", HARNESS)
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    calls = iter(range(10**6))
    monkeypatch.setattr(harness, "run_op", lambda *a: (np.full(3, next(calls), dtype=np.float32),))
    assert harness.main(["--task", "mnist", "--threads", "2", "--rounds", "1"]) == 1
