"""The ablation script on a tiny budget (does it work, is its JSON shaped right), its statistics, and the
committed results: the Markdown and the block on docs/quantum.md must be what the script writes from the committed
JSON."""

import json

import pytest
from helpers import ROOT

from qnn_core.evaluation import ablation


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ablation") / "ablation.json"
    args = [
        "--tasks",
        "mnist",
        "--seeds",
        "0",
        "1",
        "--epochs",
        "1",
        "--subset",
        "256",
        "--max-batches",
        "2",
        "--limit",
        "200",
        "--out",
        str(out),
        "--work-dir",
        str(out.parent / "work"),
    ]
    assert ablation.main(args) == 0
    return out, args


@pytest.mark.slow
def test_tiny_ablation_writes_every_run_and_a_summary(tiny_run):
    out, _ = tiny_run
    data = json.loads(out.read_text())
    assert {(r["task"], r["variant"], r["seed"]) for r in data["runs"]} == {
        ("mnist", v, s) for v in ablation.VARIANTS for s in (0, 1)
    }
    for r in data["runs"]:
        assert 0.0 <= r["test_accuracy"] <= 1.0 and r["test_size"] == 200
        # every model with a circuit is measured with it switched off too; the matched layer is no circuit
        assert ("test_accuracy_quantum_off" in r) == (r["variant"] in ("hybrid", "frozen", "no-entangle"))
    s = data["summary"]["mnist"]
    assert all(s[v]["n"] == 2 for v in ablation.VARIANTS)
    assert len(s["difference"]["per_seed"]) == 2 and "ci95" in s["difference"]
    for control in ("matched", "frozen", "no-entangle"):
        d = s[f"difference_{control}"]
        assert "ci95" in d and d["per_seed"] == pytest.approx(
            [(by_seed(data, "hybrid", k) - by_seed(data, control, k)) * 100 for k in (0, 1)]
        )
    assert data["budget"]["subset"] == 256 and "--subset 256" in data["command"]
    md = (out.parent / "ABLATION.md").read_text()
    assert "reduced-budget" in md and data["command"] in md and "Digits (MNIST)" in md
    assert "Fairer controls" in md and "parameter-matched classical layer" in md and "CNOT ring" in md


def by_seed(data: dict, variant: str, seed: int) -> float:
    return next(r["test_accuracy"] for r in data["runs"] if r["variant"] == variant and r["seed"] == seed)


def test_the_controls_change_only_the_quantum_branch(tiny_run):
    """Each control's checkpoint is the model it claims to be: matched capacity, frozen or unentangled circuit."""
    import torch

    from qnn_core.models.checkpoint import load_checkpoint

    work = tiny_run[0].parent / "work"
    hybrid, _ = load_checkpoint(work / "mnist_hybrid_seed0.pt")
    matched, _ = load_checkpoint(work / "mnist_matched_seed0.pt")
    frozen, _ = load_checkpoint(work / "mnist_frozen_seed0.pt")
    unentangled, _ = load_checkpoint(work / "mnist_no-entangle_seed0.pt")
    circuit = sum(p.numel() for p in hybrid.quantum.parameters())
    assert sum(p.numel() for p in matched.matched.parameters()) == circuit == 48
    assert not hasattr(matched, "quantum") and matched.head.in_features == hybrid.head.in_features
    assert unentangled.quantum.ring() == [] and hybrid.quantum.ring()
    assert not any(p.requires_grad for p in frozen.quantum.parameters())
    # frozen at the random initialisation: the seed's fresh model has the very same circuit angles
    torch.manual_seed(0)
    from qnn_core.models.hybrid import HybridNet

    fresh_angles = [p for n, p in HybridNet(frozen.config).state_dict().items() if n.startswith("quantum.")]
    assert fresh_angles and all(
        torch.equal(a, b)
        for a, b in zip(fresh_angles, [p for n, p in frozen.state_dict().items() if n.startswith("quantum.")])
    )


def test_resume_skips_finished_runs_and_refuses_another_budget(tiny_run, capsys):
    out, args = tiny_run
    before = out.read_text()
    assert ablation.main(args) == 0  # nothing left to train: the runs are unchanged
    assert json.loads(out.read_text())["runs"] == json.loads(before)["runs"]
    other = [a if a != "256" else "512" for a in args]
    assert ablation.main(other) == 2
    assert "another budget" in capsys.readouterr().err


def test_report_only_keeps_where_and_how_the_runs_were_made(tiny_run):
    out, args = tiny_run
    data = json.loads(out.read_text())
    data["machine"]["cpu"] = "the machine that ran them"
    out.write_text(json.dumps(data))
    assert ablation.main(args + ["--report-only"]) == 0
    again = json.loads(out.read_text())
    assert again["machine"]["cpu"] == "the machine that ran them" and again["command"] == data["command"]


def test_summary_statistics_and_verdicts():
    runs = [
        {
            "task": "mnist",
            "variant": v,
            "seed": s,
            "test_accuracy": acc,
            "test_size": 10,
            **({"test_accuracy_quantum_off": acc - 0.01} if v == "hybrid" else {}),
        }
        for s, (h, c) in enumerate([(0.95, 0.90), (0.96, 0.90), (0.97, 0.91)])
        for v, acc in (("hybrid", h), ("classical", c))
    ]
    s = ablation.summarise(runs)["mnist"]
    assert s["hybrid"]["mean"] == pytest.approx(96.0) and s["hybrid"]["std"] == pytest.approx(1.0)
    assert s["difference"]["per_seed"] == pytest.approx([5.0, 6.0, 6.0])
    assert s["quantum_off_drop"]["mean"] == pytest.approx(1.0)
    assert ablation.verdict(s).startswith("the quantum branch adds +5.67")
    mixed = ablation.summarise(
        [{**r, "test_accuracy": 0.9 + (0.01 if (r["seed"] + (r["variant"] == "hybrid")) % 2 else 0)} for r in runs]
    )["mnist"]
    assert ablation.verdict(mixed).startswith("no measurable difference")


def test_readme_block_is_replaced_between_markers(tmp_path, tiny_run):
    out, _ = tiny_run
    data = json.loads(out.read_text())
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{ablation.BLOCK_START}\nOLD-BLOCK\n{ablation.BLOCK_END}\nrest\n")
    assert ablation.update_readme(ablation.readme_block(data, "ABLATION.md"), readme)
    text = readme.read_text()
    assert "OLD-BLOCK" not in text and "Digits (MNIST)" in text and text.endswith("rest\n")


def test_committed_ablation_is_complete_and_its_reports_are_generated_from_it():
    data = ablation.load_results()
    if data is None:
        pytest.skip("benchmarks/ablation.json not committed yet")
    tasks = {"mnist", "fashion", "kmnist"}
    assert {r["task"] for r in data["runs"]} >= tasks
    for t in tasks:
        s = data["summary"][t]
        assert all(s[v]["n"] == 3 for v in ablation.VARIANTS), t  # the fairer controls too
        assert s["hybrid_quantum_off"]["n"] == 3
        assert all("ci95" in s[f"difference_{c}"] for c in ("matched", "frozen", "no-entangle"))
    assert not data["budget"].get("max_batches") and not data["budget"].get("test_limit")
    assert all(r["test_size"] == 10_000 for r in data["runs"])
    assert (ROOT / "benchmarks" / "ABLATION.md").read_text() == ablation.markdown(data)
    assert ablation.readme_block(data, "ABLATION.md") in ablation.PAGE.read_text()
    assert ablation.task_summary("mnist")["verdict"] == ablation.verdict(data["summary"]["mnist"])


def test_quantum_view_quotes_the_committed_ablation():
    import io

    from PIL import Image
    from streamlit.testing.v1 import AppTest

    from qnn_core.data.loaders import load_split
    from qnn_core.tasks import get_task

    summary = ablation.task_summary("mnist")
    if summary is None:
        pytest.skip("benchmarks/ablation.json not committed yet")
    buf = io.BytesIO()
    Image.fromarray(load_split(get_task("mnist"), "test").images[0]).save(buf, format="PNG")
    at = AppTest.from_file(str(ROOT / "app_pages" / "digits.py"), default_timeout=120).run()
    at.get("file_uploader")[0].upload("digit.png", buf.getvalue(), "image/png")
    at.run()
    assert not at.exception
    quoted = [m.value for m in at.markdown if "Ablation over 3 seeds" in m.value]
    assert quoted and summary["verdict"] in quoted[0]
    assert f"{summary['hybrid']['mean']:.2f} ± {summary['hybrid']['std']:.2f}%" in quoted[0]
