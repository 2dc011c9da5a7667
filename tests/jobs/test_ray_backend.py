"""The ray backend against a real Ray cluster: a head node started here (2 CPUs, free ports, a temporary folder).

Four jobs go in at once through the jobs API, as the page and the CLI submit them; with the default limit (one job
per cluster CPU) two run and two wait in the app's queue:
  A  tiny hybrid, one process            -> done, with metrics, a result and a loadable checkpoint
  C  long                                -> cancelled while it trains (Ray's stop_job)
  D  long                                -> its process killed on the node: failed, with its log tail
  B  tiny classical, two processes        -> done under torchrun inside the Ray job
The checkpoint reaches the app only through the job's log: the worker wrote it inside its own Ray working directory,
and the app's copy must carry the sha256 the worker reported.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from helpers import ROOT

pytest.importorskip(
    "ray", reason="ray[default] is not installed here (the ray extra of pyproject.toml pins ray[default]==2.60.0)"
)

from ray.job_submission import JobStatus  # noqa: E402  (after the skip)
from ray.util.state import list_nodes  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from qnn_core import jobs  # noqa: E402
from qnn_core.jobs import JobParams, ray_backend, reports  # noqa: E402
from qnn_core.models.checkpoint import load_checkpoint  # noqa: E402
from qnn_core.paths import SHARED_DATA  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.slow]

VENV_BIN = Path(sys.executable).parent
TINY = dict(task="mnist", epochs=1, subset=64, max_batches=2, batch_size=32, limit=100)
# Kana: its recipe trains at once, where digits first renders its images as people's pictures (minutes on a
# fresh machine, before any batch).
LONG = dict(task="kmnist", epochs=1, subset=20_000, batch_size=64, limit=100)
TIMEOUT = 150


def wait_for(check, what: str, timeout: float = TIMEOUT, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)
    return value


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def cluster_processes(tmp: Path) -> list[psutil.Process]:
    """Every process of this cluster: those `ray start` left running carry its RAY_TMPDIR in their environment, and
    the rest (agents, workers, the jobs) are their descendants (whose renamed titles may hide their environment)."""
    found: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("RAY_TMPDIR") == str(tmp):
                found[proc.pid] = proc
                found.update((child.pid, child) for child in proc.children(recursive=True))
        except psutil.Error:
            pass
    found.pop(os.getpid(), None)
    return list(found.values())


def stop_cluster(tmp: Path) -> None:
    """What `ray stop --force` does (SIGKILL), for this cluster only: `ray stop` picks processes by their names, so it
    would also end any other Ray on the machine."""
    procs = cluster_processes(tmp)
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)


@pytest.fixture(scope="module")
def cluster():
    """A Ray head node; its workers run the venv's python (.venv/bin first on PATH, as a job's `python`)."""
    tmp = Path(tempfile.mkdtemp(prefix="qnnray", dir="/tmp"))  # short: Ray's socket paths must fit in 107 bytes
    gcs, dashboard, client, node_manager, object_manager, agent, agent_grpc, metrics, env_agent = free_ports(9)
    env = {**os.environ, "RAY_TMPDIR": str(tmp), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("RAY_ADDRESS", None)
    command = [
        str(VENV_BIN / "ray"),
        "start",
        "--head",
        "--num-cpus",
        "2",
        "--disable-usage-stats",
        "--dashboard-host",
        "127.0.0.1",
        "--dashboard-port",
        str(dashboard),
        "--port",
        str(gcs),
        "--ray-client-server-port",
        str(client),
        "--node-manager-port",
        str(node_manager),
        "--object-manager-port",
        str(object_manager),
        "--dashboard-agent-listen-port",
        str(agent),
        "--dashboard-agent-grpc-port",
        str(agent_grpc),
        "--metrics-export-port",
        str(metrics),
        "--runtime-env-agent-port",
        str(env_agent),
    ]
    try:
        started = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        yield f"http://127.0.0.1:{dashboard}"
    finally:
        stop_cluster(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_env(cluster, tmp_path_factory):
    """The app's side, configured for the ray backend; its runs directory is nowhere near the cluster's folders."""
    root = tmp_path_factory.mktemp("app") / "runs"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QNN_JOBS_BACKEND", "ray")
        mp.setenv("RAY_ADDRESS", cluster)
        mp.setenv("QNN_RAY_DATA_ROOT", str(SHARED_DATA))  # the data as "every node" mounts it
        mp.setenv("QNN_RUNS_DIR", str(root))
        mp.delenv("QNN_MAX_JOBS", raising=False)
        yield root
        for job in jobs.list_jobs(root, check=False):
            if not job.finished:
                jobs.cancel(job.id, root, grace_s=3)


@pytest.fixture(scope="module")
def submitted(ray_env):
    """A, C, D, B submitted back to back (see the module's docstring)."""
    a = jobs.submit(JobParams(**TINY))
    c = jobs.submit(JobParams(**LONG))
    d = jobs.submit(JobParams(**{**LONG, "seed": 1}))
    b = jobs.submit(JobParams(**{**TINY, "quantum": False, "processes": 2}))
    return dict(a=a, b=b, c=c, d=d)


def job(j: jobs.Job) -> jobs.Job:
    return jobs.get_job(j.id)  # with a reconcile, as the page's refresh does


def test_the_limit_comes_from_the_cluster_and_the_rest_wait(submitted, cluster):
    info = jobs.backend_info()
    assert (info.name, info.limit, info.where) == ("ray", 2, f"the Ray cluster at {cluster}")
    assert [submitted[k].status for k in "acdb"] == ["running", "running", "queued", "queued"]
    assert all(submitted[k].backend == "ray" for k in "acdb") and submitted["a"].ray_submission_id


def started(j: jobs.Job) -> jobs.Job:
    """Once the job's worker has reported from its node (it is running there, loading torch and the data)."""
    return wait_for(lambda: (now := job(j)).runs_on and now, f"job {j.id} to start on a node")


def test_cancel_a_running_job(submitted):
    c = started(submitted["c"])
    t0 = time.monotonic()
    stopped = jobs.cancel(c.id)
    assert stopped.status == "cancelled", (stopped.error, stopped.log_tail)
    assert time.monotonic() - t0 < jobs.scheduler.GRACE_S  # the worker obeyed Ray's SIGTERM
    assert ray_backend.client(stopped.ray_address).get_job_status(c.ray_submission_id) == JobStatus.STOPPED
    assert stopped.error is None and "failed" not in stopped.log_tail
    with pytest.raises(ValueError, match="already ended"):
        jobs.cancel(c.id)


def test_a_job_killed_on_the_cluster_fails_with_its_log_tail(submitted):
    d = started(submitted["d"])
    (node,) = list_nodes(address=d.ray_address)
    assert d.runs_on == f"{socket.gethostname()} ({node.node_ip})"  # the host it reported, the node's address from Ray

    def worker():
        for proc in psutil.process_iter():
            try:
                if proc.environ().get("QNN_JOB_KEY") == d.ray_submission_id and "ray-worker" in proc.cmdline():
                    return proc
            except psutil.Error:
                pass

    wait_for(worker, "job D's worker process", timeout=30).send_signal(signal.SIGKILL)
    failed = wait_for(lambda: (j := job(d)).finished and j, "job D to be marked failed", timeout=60)
    assert failed.status == "failed" and "without reporting a result" in failed.error, failed.error
    assert re.search(r"exit code (-9|137)\b", failed.error) and d.ray_submission_id in failed.log_tail


def test_two_tiny_jobs_finish_with_metrics_and_a_checkpoint(submitted):
    for key in "ab":
        done = wait_for(lambda: (j := job(submitted[key])).finished and j, f"job {key.upper()} to finish")
        assert done.status == "done", (done.error, done.log_tail, jobs.job_log(done.id))
        assert done.progress == 1.0 and done.val_acc is not None and done.images_per_s > 0
        assert done.result["n"] == 100 and sum(map(sum, done.result["confusion"])) == 100
        kinds = [m["kind"] for m in jobs.job_metrics(done.id)]
        assert kinds.count("epoch") == 1 and "batch" in kinds
        model, meta = load_checkpoint(done.checkpoint_path)
        assert meta["task"] == "mnist" and model.config.quantum is (key == "a")
        assert "test accuracy" in jobs.job_log(done.id) and "@qnn-job" not in jobs.job_log(done.id, lines=10_000)
    # B ran as two data-parallel processes inside its Ray job
    assert "torch.distributed.run --standalone --nproc_per_node 2" in jobs.job_log(submitted["b"].id, lines=10_000)


def test_the_checkpoint_arrives_through_ray_not_a_shared_path(submitted, ray_env):
    a = job(submitted["a"])
    assert a.status == "done"
    remote, local = Path(a.remote_checkpoint), Path(a.checkpoint_path)
    assert not remote.is_relative_to(ray_env) and local.is_relative_to(ray_env)
    assert f"/.qnn-jobs/{a.ray_submission_id}/" in str(remote)  # the job's own folder in its Ray working directory
    assert not remote.exists()  # and gone with the job: nothing could have been copied from there afterwards
    assert hashlib.sha256(local.read_bytes()).hexdigest() == a.checkpoint_sha256
    sent = reports.parse(ray_backend.client(a.ray_address).get_job_logs(a.ray_submission_id))
    assert sent.last("checkpoint")["sha256"] == a.checkpoint_sha256 and sent.last("checkpoint")["path"] == str(remote)


def test_a_bad_parameter_gets_the_local_backends_error(submitted, monkeypatch):
    before = len(ray_backend.client(os.environ["RAY_ADDRESS"]).list_jobs())
    messages = []
    for bad in (dict(n_qubits=13), dict(device="gpu"), dict(processes=0)):
        with pytest.raises(ValueError) as on_ray:
            jobs.submit(JobParams(**{**TINY, **bad}))
        with monkeypatch.context() as m:
            m.setenv("QNN_JOBS_BACKEND", "local")
            with pytest.raises(ValueError) as on_local:
                jobs.submit(JobParams(**{**TINY, **bad}))
        assert str(on_ray.value) == str(on_local.value)
        messages.append(str(on_ray.value))
    assert messages[:2] == [
        "Number of qubits must be between 4 and 12 (got 13).",
        "Device must be one of auto, cpu, cuda, cuda:N, mps (got 'gpu').",
    ]
    assert len(jobs.list_jobs(check=False)) == 4  # nothing recorded ...
    assert len(ray_backend.client(os.environ["RAY_ADDRESS"]).list_jobs()) == before  # ... nor submitted


def test_every_job_is_listed_after_an_app_restart(submitted, ray_env, cluster):
    """A new process (the CLI, configured by its flags only) and the page list all four from the store."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "QNN_JOBS_BACKEND")}
    listing = subprocess.run(
        [
            sys.executable,
            "-m",
            "qnn_core",
            "jobs",
            "--runs",
            str(ray_env),
            "--backend",
            "ray",
            "--ray-address",
            cluster,
            "list",
            "--json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
    listed = {j["id"]: j for j in json.loads(listing.stdout)}
    want = {"a": "done", "b": "done", "c": "cancelled", "d": "failed"}
    assert {k: listed[submitted[k].id]["status"] for k in want} == want
    assert all(j["where"].startswith(f"ray: {socket.gethostname()}") for j in listed.values())
    at = AppTest.from_file(str(ROOT / "app_pages" / "training.py"), default_timeout=60).run()
    assert not at.exception
    assert any(f"Ray cluster at {cluster}" in c.value and "2 jobs run" in c.value for c in at.caption)
    table = at.dataframe[0].value
    assert sorted(table["Job"]) == sorted(j.id for j in submitted.values())
    assert all(where.startswith("ray: ") for where in table["Runs on"])
