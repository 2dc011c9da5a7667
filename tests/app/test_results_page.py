"""Results page: read through the service, the hardest class shown without a gain arrow, the error grids readable."""

from helpers import ROOT
from PIL import Image
from streamlit.testing.v1 import AppTest

from qnn_core.service import task_results
from qnn_core.tasks import TASKS, get_task


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "results.py"), default_timeout=120).run()
    assert not at.exception
    return at


def test_hardest_class_has_no_delta_arrow():
    at = _page()
    hardest = [m for m in at.metric if m.label == "Hardest class"]
    assert len(hardest) == len(TASKS)
    for metric, task in zip(hardest, TASKS.values()):
        name, acc = task_results(task.name).hardest_class
        assert not metric.delta  # an arrow would read as a gain
        assert metric.value == f"{task.label(task.classes.index(name))} · {acc:.2%}"


def test_every_error_grid_is_shown_in_its_own_row():
    """In the tab itself, not in a column beside the confusion matrix (its size is checked in the browser test)."""
    at = _page()
    with_grid = [t for t in TASKS.values() if task_results(t.name).errors_grid is not None]
    assert with_grid
    for tab, task in zip(at.tabs, TASKS.values()):
        grids = [c for c in tab.children.values() if getattr(c, "label", "").startswith("Misclassified")]
        assert len(grids) == (task in with_grid), task.name
        if grids:
            assert [type(c).__name__ for c in grids[0].children.values()] == ["Image"]


def test_the_committed_error_grids_are_drawn_large():
    """Six tiles across at 1.6 in and 12 pt labels at 110 dpi: about 18 px letters at the PNG's own width."""
    for task in TASKS.values():
        path = task_results(task.name).errors_grid
        if path is not None:
            width, height = Image.open(path).size
            assert width <= 6 * 1.6 * 110 + 2, (task.name, width)


def test_the_summary_table_lists_every_task():
    at = _page()
    table = at.dataframe[0].value
    assert list(table["task"]) == [t.title for t in TASKS.values()]
    for task, hybrid in zip(TASKS.values(), table["hybrid"]):
        assert hybrid == task_results(task.name).hybrid["accuracy"]


def test_the_shots_and_noise_curves_are_shown_from_the_committed_json():
    from qnn_core.data.loaders import has_split
    from qnn_core.evaluation import readout_curves
    from qnn_core.service import readout_curves as served

    data = readout_curves.load_curves()
    assert data is not None, "benchmarks/readout_curves.json is committed"
    # every task's hybrid and every bottleneck, on whole test splits, and the committed report made from them
    assert {(r["task"], r["model"]) for r in data["results"]} == {
        (t.name, k)
        for t in TASKS.values()
        for k in readout_curves.CURVE_MODELS
        if k in t.models and has_split(t, "test")  # clothes: its test photos are kept apart, nothing to curve
    }
    assert "--limit" not in data["command"]
    for r in data["results"]:  # exact readout is the served model: the committed evaluations' accuracy
        if r["model"] == "hybrid":
            assert r["exact"] == task_results(r["task"]).hybrid["accuracy"], r["task"]
        assert r["shots"]["1000"]["mean"] > r["shots"]["10"]["mean"] - 0.01 and r["test_size"] >= 520
    md = (ROOT / "benchmarks" / "readout_curves.md").read_text()
    assert md == readout_curves.markdown(data)
    # the real-device column: every handwriting bottleneck and the digits hybrid, on a simulated device's noise
    on_device = {(r["task"], r["model"]): r["device"] for r in data["results"] if "device" in r}
    assert set(on_device) == set(readout_curves.device_models(list(TASKS)))
    for (task, kind), v in on_device.items():
        assert v["qpu"] == readout_curves.DEVICE_QPU and v["shots"] == 1000 and v["images"] == 500
        assert 0 < v["kept"] < 1 and v["routing"]["cnots"][0] == 24 < v["routing"]["cnots"][1]
        assert v["accuracy"] > 1.5 / get_task(task).num_classes  # noisy, but far from chance
        assert v["p_same_shrink"] is not None and 0 < v["agreement_depolarizing"] <= 1
    assert "## On a simulated real device" in md and "not a run on hardware" in md
    from qnn_core.evaluation import readme

    assert readme.read_block("device") == readout_curves.device_block(data)  # docs/quantum.md shows it, as written
    at = _page()
    assert any(s.value.startswith("Shots and noise") for s in at.subheader)
    assert served().explanation in [m.value for m in at.markdown]
    assert served().device_explanation in [m.value for m in at.markdown]
    assert "not a run on hardware" in served().device_explanation
    chart = [c for c in at.get("plotly_chart") if "readout_curves" in str(c.proto.id)]
    assert chart
