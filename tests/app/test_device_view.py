"""The quantum view's "On a real device" through AppTest: the honest wording, the run behind a button, the
routing, the noise and the noisy prediction, and the OpenQASM downloads; and the service calls behind it."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from helpers import ROOT, draw_digit_one
from streamlit.testing.v1 import AppTest

from app_pages import quantum_charts as charts
from qnn_core.service import TaskService
from qnn_core.tasks import get_task

pytestmark = pytest.mark.skipif(not get_task("mnist").checkpoint().is_file(), reason="no shipped mnist checkpoint")


def _png() -> bytes:
    buf = io.BytesIO()
    draw_digit_one().save(buf, format="PNG")
    return buf.getvalue()


def test_the_device_view_runs_on_a_button_and_shows_routing_noise_and_the_noisy_prediction():
    at = AppTest.from_file(str(ROOT / "app_pages/digits.py"), default_timeout=300).run()
    at.get("file_uploader")[0].upload("one.png", _png(), "image/png")
    at.run()
    at.button_group(key="mnist_upload_result_view").set_value("On a real device").run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "A simulation from a calibration snapshot, not a run on hardware" in captions
    assert at.selectbox(key="mnist_upload_result_device").value == "fake_kolkata"
    assert "fake_guadalupe" in at.selectbox(key="mnist_upload_result_device").options[3]
    assert any("Press **Run**" in i.value for i in at.info) and not at.dataframe  # nothing runs before the button
    assert [d.label for d in at.get("download_button")] == ["⬇ OpenQASM 2 (.qasm)", "⬇ OpenQASM 3 (.qasm3)"]

    at.button(key="mnist_upload_result_device_go").click().run()
    assert not at.exception
    routing = next(m.value for m in at.markdown if m.value.startswith("| | the model's circuit"))
    cnots = re.search(r"\| CNOTs \| (\d+) \| \*\*(\d+)\*\* \| (\d+) \|", routing).groups()
    assert int(cnots[0]) == 24 and int(cnots[1]) > 24 and "**8** of 27 physical" in routing
    assert int(re.search(r"SWAPs inserted \| – \| \*\*(\d+)\*\*", routing).group(1)) > 0
    noise = next(m.value for m in at.markdown if m.value.startswith("| median |"))
    assert "| CNOT error | **" in noise and "| T2 (dephasing) |" in noise
    assert any("coupling" in str(c.proto.id) for c in at.get("plotly_chart"))  # the chip, the qubits used
    result = next(m.value for m in at.markdown if "qnn-device" in m.value)
    assert "fake_kolkata" in result and "re-runs" in result and "Exact circuit: <b>“1”</b>" in result
    assert len(at.dataframe[-1].value) == 8  # the calibration of each physical qubit used
    # another stroke (here: another shot count) does not run again: the button does
    at.button_group(key="mnist_upload_result_device_shots").set_value(100).run()
    assert not at.exception and any("changed since the last run" in i.value for i in at.info)


def test_the_service_runs_the_prediction_on_the_device_and_exports_it():
    service = TaskService.get("mnist")
    result = service.classify(draw_digit_one())
    assert [d.name for d in service.devices()][0] == "fake_kolkata"
    run = service.device_run(result, "fake_kolkata", shots=100, reruns=3, seed=1)
    assert run.reruns == 3 and run.expvals.shape == (3, 8) and run.probs.shape == (3, 10)
    assert run.exact_label == result.label and np.allclose(run.exact_probs, result.probs, atol=1e-5)
    assert run.ideal.shots == 100 and run.ideal.resamples == 3
    again = service.device_run(result, "fake_kolkata", shots=100, reruns=3, seed=1)
    np.testing.assert_array_equal(run.expvals, again.expvals)  # seeded
    bars = charts.device_chart(run)
    assert [t.name for t in bars.data] == [
        "exact",
        "100 ideal shots",
        "100 shots on fake_kolkata",
        "each of 3 re-runs on fake_kolkata",
    ]
    routing = service.device_routing("fake_kolkata")
    chip = charts.coupling_map_chart(routing)
    used = next(t for t in chip.data if t.name and t.name.startswith("used"))
    assert sorted(t for t in used.text if t) == [f"q{w}" for w in range(8)]  # each wire where it starts
    text = service.qasm(result, 2, "a test drawing")
    assert "OPENQASM 2.0;" in text and "input: a test drawing" in text and "mnist_hybrid.pt" in text
    assert ", ".join(f"{v:+.6f}" for v in result.expvals) in text  # no mirroring on Digits: the served <Z>


def test_a_classical_only_model_offers_no_device():
    service = TaskService("mnist", get_task("mnist").checkpoint(quantum=False))
    result = service.classify(draw_digit_one())
    assert service.devices() == ()
    with pytest.raises(ValueError, match="classical-only"):
        service.device_run(result, "fake_kolkata")
    with pytest.raises(ValueError, match="classical-only"):
        service.qasm(result)


def test_the_app_does_not_import_the_device_simulation_until_asked():
    """Qiskit's transpiler, Aer's noise models and the OpenQASM exporters are imported on a device view's first
    use, inside functions, never by the module-level imports that the app's pages, the service and the commands
    pull in at start-up (read from the source: every module reached that way, transitively)."""
    import ast

    heavy = ("qiskit", "qiskit_aer", "qnn_core.inference.device_noise", "qnn_core.inference.qiskit_circuit")

    def top_level_imports(path):
        found = set()
        for node in ast.parse(path.read_text()).body:  # module level only: not in functions nor TYPE_CHECKING
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.With | ast.Try):
                found |= top_level_imports_of_body(node)
        return found

    def top_level_imports_of_body(node):
        inner = ast.Module(body=[*getattr(node, "body", [])], type_ignores=[])
        return {
            n
            for stmt in inner.body
            if isinstance(stmt, ast.Import | ast.ImportFrom)
            for n in ([a.name for a in stmt.names] if isinstance(stmt, ast.Import) else [stmt.module or ""])
        }

    def path_of(module):
        base = ROOT.joinpath(*module.split("."))
        return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)

    starts = [f"app_pages.{p.stem}" for p in (ROOT / "app_pages").glob("*.py")]
    starts += ["qnn_core.service", "qnn_core.cli.predict", "qnn_core.evaluation.evaluate", "streamlit_app"]
    seen, todo = set(), list(starts)
    while todo:
        module = todo.pop()
        if module in seen or (path := path_of(module)) is None:
            continue
        seen.add(module)
        for name in top_level_imports(path):
            assert not any(name == h or name.startswith(h + ".") for h in heavy), f"{module} imports {name}"
            todo.append(name)
    assert "qnn_core.service.device_views" in seen and "app_pages.device_view" in seen
