"""Background training jobs: real worker processes on tiny subsets, each test in its own runs directory."""

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from helpers import ROOT
from streamlit.testing.v1 import AppTest

from qnn_core import jobs
from qnn_core.jobs import JobParams, procs, store
from qnn_core.models.checkpoint import load_checkpoint

# A few batches on a small subset, measured on 100 test images: seconds, not minutes.
TINY = dict(task="mnist", epochs=1, subset=256, max_batches=2, batch_size=64, limit=100)
# Long enough to still be running when the test acts on it (minutes of training).
# Kana: its recipe trains at once, where digits first renders its images as people's pictures (minutes on a
# fresh machine, before any batch).
LONG = dict(task="kmnist", epochs=1, subset=20_000, batch_size=64, limit=100)
JOB_TIMEOUT = 150


def wait_for(check, timeout: float, what: str):
    """Poll until check() returns something truthy; fail with `what` after the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def process_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def stop_all(root) -> None:
    """Leave no worker behind, whatever a test did (newest first, so queued jobs never start)."""
    for job in jobs.list_jobs(root, check=False):
        if not job.finished:
            jobs.cancel(job.id, root, grace_s=3)


@pytest.fixture(scope="module")
def two_jobs(tmp_path_factory):
    """Two tiny jobs submitted back to back with one slot: a hybrid one, then a classical one."""
    root = tmp_path_factory.mktemp("queue") / "runs"
    first = jobs.submit(JobParams(**TINY), root)
    second = jobs.submit(JobParams(**{**TINY, "quantum": False}), root)
    second_status_while_first_runs = set()

    def both_finished():
        by_id = {j.id: j for j in jobs.list_jobs(root)}
        if by_id[first.id].status == "running":
            second_status_while_first_runs.add(by_id[second.id].status)
        return all(j.finished for j in by_id.values()) and by_id

    final = wait_for(both_finished, 2 * JOB_TIMEOUT, "both queued jobs to finish")
    yield root, final[first.id], final[second.id], second_status_while_first_runs, (first, second)
    stop_all(root)


@pytest.mark.slow
def test_tiny_job_finishes_with_metrics_result_and_checkpoint(two_jobs):
    root, job, _, _, _ = two_jobs
    assert job.status == "done", (job.error, job.log_tail, jobs.job_log(job.id, root))
    assert job.progress == 1.0 and job.finished_at >= job.started_at
    rows = jobs.job_metrics(job.id, root)
    batches = [r for r in rows if r["kind"] == "batch"]
    epochs = [r for r in rows if r["kind"] == "epoch"]
    assert [b["step"] for b in batches] == [1, 2] and all(b["steps"] == 2 for b in batches)
    assert all(b["loss"] > 0 and b["images_per_s"] > 0 for b in batches)
    assert len(epochs) == 1 and 0 <= epochs[0]["val_acc"] <= 1
    assert job.val_acc == epochs[0]["val_acc"] and job.images_per_s > 0
    result = job.result
    assert result["n"] == 100 and result["partial"] and sum(map(sum, result["confusion"])) == 100
    assert 0 <= result["accuracy"] <= 1 and "accuracy_quantum_off" in result and "100" in result["note"]
    model, meta = load_checkpoint(job.checkpoint_path)
    assert job.checkpoint_path == str(root / "jobs" / str(job.id) / "model.pt")
    assert meta["task"] == "mnist" and model.config.quantum and model.config.n_qubits == 8
    assert "test accuracy" in jobs.job_log(job.id, root)
    assert not list((root / "jobs" / str(job.id)).glob("*.tmp"))  # no half-written checkpoint left


@pytest.mark.slow
def test_queued_jobs_run_in_order_one_at_a_time(two_jobs):
    _, first, second, second_status_while_first_runs, submitted = two_jobs
    assert submitted[0].status == "running" and submitted[1].status == "queued"
    assert second_status_while_first_runs == {"queued"}
    assert first.status == second.status == "done", (first.error, second.error)
    assert second.started_at >= first.finished_at
    assert load_checkpoint(second.checkpoint_path)[0].config.quantum is False


@pytest.mark.slow
def test_cli_list_show_logs(two_jobs):
    root, first, second, _, _ = two_jobs

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "qnn_core", "jobs", "--runs", str(root), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    listing = cli("list")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "TASK", "MODEL", "STATUS"]
    assert any(line.split()[0] == str(first.id) and "hybrid 8q×3" in line and "done" in line for line in lines)
    assert any(line.split()[0] == str(second.id) and "classical" in line for line in lines)
    shown = json.loads(cli("show", str(first.id), "--json").stdout)
    assert shown["status"] == "done" and shown["result"]["n"] == 100 and len(shown["metrics"]) == 3
    assert "test acc" in cli("show", str(first.id)).stdout
    assert "epoch 1/1 done" in cli("logs", str(first.id)).stdout
    missing = cli("show", "999")
    assert missing.returncode == 2 and "no job 999" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.slow
def test_use_this_model_and_revert(two_jobs, tmp_path):
    root, first, _, _, _ = two_jobs
    shipped = jobs.active_checkpoint("mnist", tmp_path / "empty")
    assert shipped == ROOT / "checkpoints" / "mnist_hybrid.pt"
    with pytest.raises(ValueError, match="trained for 'mnist', not 'kmnist'"):
        jobs.use_model(first.id, task="kmnist", runs=root)
    assert jobs.use_model(first.id, task="mnist", runs=root) == root / "jobs" / str(first.id) / "model.pt"
    assert jobs.active_checkpoint("mnist", root) == root / "jobs" / str(first.id) / "model.pt"
    assert jobs.active_job_id("mnist", root) == first.id
    assert jobs.active_checkpoint("kmnist", root) == ROOT / "checkpoints" / "kmnist_hybrid.pt"
    assert jobs.revert_to_shipped("mnist", root) == shipped
    assert jobs.active_checkpoint("mnist", root) == shipped and jobs.active_job_id("mnist", root) is None
    with store.opened(root) as con:  # a job that has not finished cannot be used
        unfinished = store.insert(con, root, "mnist", JobParams(**TINY).to_dict())
        con.execute("UPDATE jobs SET status = 'cancelled' WHERE id = ?", (unfinished,))
    with pytest.raises(ValueError, match="is cancelled"):
        jobs.use_model(unfinished, runs=root)


@pytest.mark.slow
def test_cancel_running_and_queued_jobs(runs):
    job = jobs.submit(JobParams(**LONG))
    waiting = jobs.submit(JobParams(**TINY))
    assert job.status == "running" and waiting.status == "queued"
    assert procs.is_alive(job.pid, job.pid_started)
    cancelled = jobs.cancel(waiting.id)
    assert cancelled.status == "cancelled" and cancelled.pid is None
    wait_for(lambda: jobs.job_metrics(job.id), JOB_TIMEOUT, "the first training batch")  # inside the training loop
    t0 = time.monotonic()
    stopped = jobs.cancel(job.id)
    assert stopped.status == "cancelled" and stopped.finished_at is not None
    assert time.monotonic() - t0 < jobs.scheduler.GRACE_S  # it obeyed SIGTERM; no SIGKILL was needed
    wait_for(lambda: process_gone(job.pid), 5, "the worker process to disappear")
    assert "cancelled by the user" in jobs.job_log(job.id)
    assert [j.status for j in jobs.list_jobs()] == ["cancelled", "cancelled"]  # nothing else was started
    with pytest.raises(ValueError, match="already ended"):
        jobs.cancel(job.id)


@pytest.mark.slow
def test_killed_worker_is_marked_failed_with_log_tail(runs):
    job = jobs.submit(JobParams(**LONG))
    wait_for(lambda: "job 1:" in jobs.job_log(job.id), 60, "the worker's first log line")
    os.kill(job.pid, signal.SIGKILL)
    failed = wait_for(lambda: (j := jobs.get_job(job.id)).status == "failed" and j, 10, "the job to be marked failed")
    assert "ended without reporting a result" in failed.error
    assert "job 1:" in failed.log_tail and failed.finished_at is not None
    assert process_gone(job.pid)


def test_reused_pid_is_not_mistaken_for_the_worker(runs):
    me = psutil.Process()
    assert procs.is_alive(me.pid, me.create_time())
    assert not procs.is_alive(me.pid, me.create_time() - 60)  # same pid, another process's start time
    assert not procs.is_alive(me.pid, None)
    with store.opened(runs) as con:
        job_id = store.insert(con, runs, "mnist", JobParams(**TINY).to_dict())
        con.execute(
            "UPDATE jobs SET status = 'running', pid = ?, pid_started = ? WHERE id = ?",
            (me.pid, me.create_time() - 60, job_id),
        )
    assert jobs.get_job(job_id).status == "failed"


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(n_qubits=3), "Number of qubits must be between 4 and 12"),
        (dict(n_qubits=13), "Number of qubits must be between 4 and 12"),
        (dict(q_depth=0), "Circuit depth must be between 1 and 6"),
        (dict(q_depth=7), "Circuit depth must be between 1 and 6"),
        (dict(epochs=0), "Epochs must be between 1 and 50"),
        (dict(lr=-0.1), "Learning rate must be greater than 0"),
        (dict(lr=0.0), "Learning rate must be greater than 0"),
        (dict(lr=float("nan")), "Learning rate must be a number"),
        (dict(batch_size=2), "Batch size must be between 8"),
        (dict(subset=10), "Training subset must be between 64"),
        (dict(n_qubits=8.5), "Number of qubits must be a whole number"),
        (dict(quantum="yes"), "quantum switch must be on or off"),
        (dict(task="cifar"), "Unknown task 'cifar'. Choose one of: mnist, fashion, kmnist"),
    ],
)
def test_bad_parameters_are_rejected_before_anything_starts(runs, change, message):
    with pytest.raises(ValueError, match=message):
        jobs.submit(JobParams(**{**TINY, **change}))
    assert jobs.list_jobs() == []


def test_cli_rejects_bad_parameters_without_a_traceback(runs):
    r = subprocess.run(
        [sys.executable, "-m", "qnn_core", "jobs", "submit", "--task", "mnist", "--qubits", "13"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "Number of qubits must be between 4 and 12 (got 13)" in r.stderr
    assert "Traceback" not in r.stderr and jobs.list_jobs() == []


def page() -> AppTest:
    return AppTest.from_file(str(ROOT / "app_pages" / "training.py"), default_timeout=60)


def test_page_form_submits_and_the_table_shows_the_job(runs):
    at = page().run()
    assert not at.exception
    assert any("No jobs yet" in i.value for i in at.info)
    at.number_input(key="job_subset").set_value(256)
    at.toggle(key="job_quantum").set_value(False)
    at.button(key="job_submit").click().run()
    assert not at.exception and not at.error
    assert any("Job #1" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert list(table["Job"]) == [1] and table["Task"][0] == "mnist" and table["Model"][0] == "classical"
    assert table["Status"][0] in ("🏃 running", "✅ done")
    job = jobs.get_job(1)
    assert job.params["subset"] == 256 and job.params["quantum"] is False and job.pid


def test_page_bad_input_gives_a_message_not_a_traceback(runs):
    at = page().run()
    at.number_input(key="job_lr").set_value(0.0)
    at.button(key="job_submit").click().run()
    assert not at.exception
    assert any("Learning rate must be greater than 0" in e.value for e in at.error)
    assert jobs.list_jobs() == []


@pytest.mark.slow
def test_page_shows_evaluation_and_switches_the_model(two_jobs, monkeypatch):
    root, first, _, _, _ = two_jobs
    monkeypatch.setenv("QNN_RUNS_DIR", str(root))
    at = page().run()
    at.selectbox(key="detail").set_value(first.id).run()
    assert not at.exception
    assert any(m.label == "Test accuracy" for m in at.metric)
    at.button(key=f"use_{first.id}").click().run()
    visitor = at.session_state["visitor"]  # "Use this model" serves this visitor's pages only
    assert not at.exception and jobs.active_job_id("mnist", root, visitor=visitor) == first.id
    assert jobs.active_job_id("mnist", root) is None
    assert any("pages use this job's model" in s.value for s in at.success)
    at.button(key="revert_mnist").click().run()
    assert not at.exception and jobs.active_job_id("mnist", root, visitor=visitor) is None


def test_a_photo_subset_demo_skips_the_cached_views():
    from qnn_core.jobs.params import JobParams

    assert JobParams(task="animals", subset=3000).train_config().views == 0  # seconds to start, not minutes
    assert JobParams(task="animals", subset=None).train_config().views is None  # the registry's recipe
