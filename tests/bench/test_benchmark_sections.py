"""The benchmark script in --quick mode (does every section run, is the output shaped right), and the committed
results: RESULTS.md and the block on docs/performance.md must be what the script writes from the committed
results.json."""

import json
import subprocess
import sys

import pytest
from helpers import ROOT

from benchmarks import report
from benchmarks.run import SECTIONS
from benchmarks.simulators import pennylane_available

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "results.json"
    r = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def test_quick_run_measures_every_section(quick_results):
    data = json.loads(quick_results.read_text())
    assert data["quick"] is True and data["machine"]["cores"] >= 1 and data["machine"]["torch_threads"] == 1
    assert set(data["sections"]) == set(SECTIONS)
    for name, sec in data["sections"].items():
        assert "failed" not in sec, (name, sec)
        assert len(sec["load_avg_start"]) == 3
    s = data["sections"]
    assert set(s["latency"]["tasks"]) >= {"mnist", "fashion", "kmnist"}
    assert s["latency"]["tasks"]["mnist"]["predict"]["p50_ms"] > 0
    sizes = {t: r["checkpoint_mb"] for t, r in s["latency"]["tasks"].items()}
    assert 0.5 < sizes["mnist"] < sizes["animals"], sizes  # the ImageNet tail makes animals' the big one
    assert s["latency"]["tasks"]["animals"]["goals"] == {"predict_p50_ms": 60.0, "checkpoint_mb": 25.0}
    assert s["latency"]["tasks"]["mnist"]["goals"]["predict_p50_ms"] == 20.0
    assert set(s["batch"]["batches"]) == {"1", "32", "256"}
    assert s["quantum_cost"]["predict"]["ratio_p50"] > 0
    assert {(r["qubits"], r["depth"]) for r in s["qnn_scaling"]["rows"]} == {(4, 1), (4, 2), (6, 1), (6, 2)}
    assert (quick_results.parent / "qnn_scaling.png").stat().st_size > 1000
    assert s["memory"]["peak_rss_mb"] > 100 and len(s["memory"]["models"]) >= 2
    assert s["app"]["label_shown"] == s["app"]["label_true"]
    assert s["concurrency"]["memory"]["ratio_3_to_1"] > 0 and set(s["concurrency"]["gradcam"]) == {"mnist", "animals"}
    qv = s["quantum_views"]
    assert set(qv["served"]) == {"mnist", "fashion"} and qv["served"]["fashion"]["views"] == 2
    assert min(r[k]["p50_ms"] for r in qv["served"].values() for k in ("state", "shots", "noise")) > 0
    assert qv["noise_max_qubits"] == 8 and "noise_2" in qv["scaling"][0] and "noise_2" not in qv["scaling"][-1]
    ddp = s["data_parallel"]
    assert set(ddp["ratio_to_one_thread"]) == {
        "1 process x 1 thread",
        "1 process x 2 threads",
        "2 DDP processes x 1 thread",
    }
    assert ddp["ratio_to_one_thread"]["1 process x 1 thread"] == 1.0 and min(ddp["median_images_per_s"].values()) > 0
    dv = s["device"]
    assert dv["devices"]["fake_kolkata"]["cnots"][0] == 24 < dv["devices"]["fake_kolkata"]["cnots"][1]
    assert dv["served"]["fashion"]["views"] == 2 and dv["served"]["mnist"]["view_run"]["p50_ms"] > 0
    assert dv["evaluate"]["images"] == 4 and "alternatives" not in dv  # quick: no 12-qubit simulations
    if pennylane_available():
        assert max(s["simulators"]["max_abs_diff"].values()) <= 1e-5
    else:
        assert "skipped" in s["simulators"]
    md = (quick_results.parent / "RESULTS.md").read_text()
    assert "QUICK MODE" in md and "## 8. The app" in md


def test_only_keeps_the_other_sections(quick_results):
    before = json.loads(quick_results.read_text())
    r = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--only", "qnn_scaling", "--out", str(quick_results)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    after = json.loads(quick_results.read_text())
    assert after["sections"]["latency"] == before["sections"]["latency"]
    assert after["sections"]["qnn_scaling"]["measured"] >= before["sections"]["qnn_scaling"]["measured"]


def test_a_failed_or_skipped_section_is_reported_not_hidden():
    data = {
        "machine": {},
        "sections": {
            "latency": {"failed": "RuntimeError: boom"},
            "simulators": {"skipped": "PennyLane is not installed"},
        },
    }
    md = report.markdown(data)
    assert "Failed: RuntimeError: boom" in md and "Skipped: PennyLane" in md and "Not measured" in md


def test_committed_results_are_complete_and_reports_are_generated_from_them():
    path = ROOT / "benchmarks" / "results.json"
    if not path.is_file():
        pytest.skip("benchmarks/results.json not committed yet")
    data = json.loads(path.read_text())
    assert data["quick"] is False
    assert set(data["sections"]) == set(SECTIONS)
    assert not [k for k, v in data["sections"].items() if "failed" in v or "skipped" in v]
    assert (ROOT / "benchmarks" / "RESULTS.md").read_text() == report.markdown(data)
    assert report.readme_block(data) in report.PAGE.read_text()
    assert (ROOT / "benchmarks" / "qnn_scaling.png").is_file()
