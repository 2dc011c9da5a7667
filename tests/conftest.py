"""Fixtures shared by the whole suite; plain helper functions are in helpers.py."""

import os
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", category=UserWarning, module="qiskit_ibm_provider")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A hybrid MNIST checkpoint from a few training batches: fast, loadable, not accurate."""
    from qnn_core.training.train import TrainConfig, train

    out = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    train(TrainConfig(task="mnist", epochs=1, subset=256, max_batches=2, batch_size=64), out, quiet=True)
    return out


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """An empty runs folder of this test's own, as $QNN_RUNS_DIR, with the job settings' defaults; any job still
    queued or running at the end is cancelled."""
    from qnn_core import jobs

    root = tmp_path / "runs"
    monkeypatch.setenv("QNN_RUNS_DIR", str(root))
    for name in ("QNN_MAX_JOBS", "QNN_JOBS_BACKEND", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    yield root
    if (root / "jobs.sqlite").exists():
        for job in jobs.list_jobs(root, check=False):
            # a fake running job (helpers.fake_running_job) is this very process: never signal it
            if not job.finished and job.pid != os.getpid():
                jobs.cancel(job.id, root, grace_s=3)


@pytest.fixture(scope="session")
def digits():
    """The digits task's shared service, as the app serves it."""
    from qnn_core.service import TaskService

    return TaskService.get("mnist")
