"""The jobs backend seam without a cluster: the store's migration, the new parameters, the log reports that carry a Ray
job's state and checkpoint, the commands and runtime_env a job gets, and a local job with two torchrun processes."""

import hashlib
import json
import sqlite3
import subprocess
import sys
import time

import psutil
import pytest
from helpers import ROOT
from streamlit.testing.v1 import AppTest

from qnn_core import jobs
from qnn_core.devices import DeviceError
from qnn_core.jobs import JobParams, procs, ray_backend, reports, store
from qnn_core.models.checkpoint import load_checkpoint

TINY = dict(task="mnist", epochs=1, subset=64, max_batches=2, batch_size=32, limit=100)


def test_an_old_database_gets_the_new_columns_and_keeps_its_jobs(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    old = sqlite3.connect(store.db_path(root))  # as the first release made it: no backend columns, user_version 0
    old.executescript(store.SCHEMA)
    old.execute("INSERT INTO jobs (task, params, status, created_at) VALUES ('mnist', '{}', 'done', 1.0)")
    old.commit()
    old.close()
    with store.opened(root) as con:
        columns = {row["name"] for row in con.execute("PRAGMA table_info(jobs)")}
        assert {name for name, _ in store.ADDED_COLUMNS} <= columns
        assert con.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
        (job,) = store.all_jobs(con)
    assert job.status == "done" and job.backend == "local" and job.reported == 0 and job.ray_submission_id is None
    with store.opened(root) as con:  # a second look changes nothing
        assert len(list(con.execute("PRAGMA table_info(jobs)"))) == len(columns)


def test_device_and_processes_are_checked_like_the_other_parameters():
    assert JobParams(device="cuda:1", processes=2).validate().train_config().device == "cuda:1"
    with pytest.raises(DeviceError, match=r"^Device must be one of auto, cpu, cuda, cuda:N, mps \(got 'gpu'\)\.$"):
        JobParams(device="gpu").validate()
    with pytest.raises(ValueError, match="Processes must be a whole number between 1 and"):
        JobParams(processes=0).validate()
    assert JobParams.from_dict({"task": "mnist"}).processes == 1  # a job recorded before the fields existed


def test_worker_commands_for_one_and_several_processes():
    assert procs.python_command("python", ["m", "a"]) == ["python", "-m", "m", "a"]
    assert procs.python_command("python", ["m"], 3) == [
        "python",
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "3",
        "-m",
        "m",
    ]
    assert ray_backend.entrypoint("python", 1) == "python -m qnn_core jobs ray-worker"
    assert ray_backend.resources(JobParams(threads=2, processes=2, device="cuda")) == dict(
        entrypoint_num_cpus=4, entrypoint_num_gpus=2
    )


def test_the_runtime_env_ships_the_code_and_names_the_nodes_data(monkeypatch, tmp_path):
    monkeypatch.setenv("RAY_ADDRESS", "http://head:8265/")
    monkeypatch.setenv("QNN_RAY_DATA_ROOT", "/mnt/data")
    monkeypatch.setenv("QNN_RAY_RUNTIME_ENV", json.dumps({"env_vars": {"HTTP_PROXY": "p"}, "config": {"x": 1}}))
    settings = ray_backend.RaySettings.from_env()
    assert settings.address == "http://head:8265"
    env = ray_backend.runtime_env(settings, JobParams(**TINY), "qnn-job1-ab", ROOT / "runs" / "x")
    assert env["working_dir"] == str(ROOT) and env["config"] == {"x": 1}
    assert {".venv", ".git", "runs", "checkpoints", "*.pt", "runs/x"} <= set(env["excludes"])
    assert env["env_vars"]["QNN_DATA_ROOT"] == "/mnt/data" and env["env_vars"]["HTTP_PROXY"] == "p"
    assert json.loads(env["env_vars"]["QNN_JOB_PARAMS"]) == JobParams(**TINY).to_dict()
    monkeypatch.delenv("RAY_ADDRESS")
    with pytest.raises(ValueError, match="needs RAY_ADDRESS"):
        ray_backend.RaySettings.from_env()


def test_a_checkpoint_survives_the_trip_through_a_log_and_damage_is_caught(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(bytes(range(256)) * 500)  # 128,000 bytes: three chunks
    lines = list(reports.checkpoint_lines(path))
    text = "\n".join(
        [
            "[00:00:01] hello",
            "[rank0]:" + reports.line("progress", progress=0.5),
            *lines,
            reports.MARK + '{"kind": "torn',
        ]
    )
    log = reports.parse(text)
    data, header = log.checkpoint()
    assert data == path.read_bytes() and header["sha256"] == hashlib.sha256(data).hexdigest()
    assert header["chunks"] == 3 and log.of("progress") == [{"kind": "progress", "progress": 0.5}]
    assert log.text == ["[00:00:01] hello", reports.MARK + '{"kind": "torn']  # a torn report is only text
    with pytest.raises(reports.TransferError, match="1 of 3 chunks are missing"):
        reports.parse("\n".join(lines[:2] + lines[3:])).checkpoint()
    for wrong, message in (("AAAA", "arrived damaged: .* the worker sent 128,000 bytes"), ("%%", "not base64")):
        swapped = [lines[0], lines[1], reports.line("chunk", i=1, data=wrong), lines[3]]
        with pytest.raises(reports.TransferError, match=message):
            reports.parse("\n".join(swapped)).checkpoint()
    with pytest.raises(reports.TransferError, match="without sending its checkpoint"):
        reports.parse("nothing here").checkpoint()


def test_the_ray_backend_without_an_address_says_so_and_records_nothing(runs):
    r = subprocess.run(
        [sys.executable, "-m", "qnn_core", "jobs", "--backend", "ray", "submit", "--task", "mnist"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "needs RAY_ADDRESS" in r.stderr and "Traceback" not in r.stderr
    assert jobs.list_jobs() == []


@pytest.mark.ddp
@pytest.mark.slow
def test_a_local_job_with_two_torchrun_processes(runs):
    job = jobs.submit(JobParams(**{**TINY, "quantum": False, "processes": 2}))
    assert job.status == "running" and job.where.startswith("local: ")
    ranks = []
    deadline = time.monotonic() + 120
    while not (job := jobs.get_job(job.id)).finished and time.monotonic() < deadline:
        try:
            ranks = ranks or [p for p in psutil.Process(job.pid).children(recursive=True) if "worker" in p.cmdline()]
        except psutil.Error:
            pass
        time.sleep(0.3)
    assert job.status == "done", (job.error, jobs.job_log(job.id))
    assert len(ranks) == 2  # torchrun started two workers; rank 0 recorded the job
    assert [m["kind"] for m in jobs.job_metrics(job.id)] == ["batch", "epoch"]  # one shard of 32 each: one step
    assert load_checkpoint(job.checkpoint_path)[0].config.quantum is False and job.result["n"] == 100


def test_the_page_says_where_jobs_run_and_passes_the_device_on(runs):
    at = AppTest.from_file(str(ROOT / "app_pages" / "training.py"), default_timeout=60).run()
    assert any("Jobs run on this machine" in c.value and "1 job runs at a time" in c.value for c in at.caption)
    at.selectbox(key="job_device").set_value("cpu")
    at.toggle(key="job_quantum").set_value(False)
    at.button(key="job_submit").click().run()
    assert not at.exception and not at.error
    assert jobs.get_job(1).params["device"] == "cpu" and jobs.get_job(1).params["processes"] == 1
    assert at.dataframe[0].value["Runs on"][0].startswith("local: ")
