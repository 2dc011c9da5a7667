"""The "I'm not sure" calibration on a tiny scale (it chooses on validation, sets the threshold there, measures
on test), and the committed calibration: every handwriting checkpoint's rule, its JSON, card and its row on
docs/results.md."""

import numpy as np
import pytest
from helpers import ROOT

from qnn_core.evaluation import unsure_calibration as uc
from qnn_core.evaluation import unsure_report
from qnn_core.evaluation.readme import read_block
from qnn_core.inference.unsure import SCORES, UnsureRule
from qnn_core.models.checkpoint import read_meta
from qnn_core.tasks import TASKS


@pytest.mark.slow
def test_tiny_calibration_chooses_on_validation_and_measures_on_test(monkeypatch):
    real_split, real_val = uc._split, uc._val
    monkeypatch.setattr(uc, "handwriting_tasks", lambda: ["mnist", "fashion"])
    monkeypatch.setattr(uc, "_split", lambda t, s: real_split(t, s).subset(slice(0, 300)))
    monkeypatch.setattr(uc, "_val", lambda t: real_val(t).subset(slice(0, 200)))
    monkeypatch.setattr(uc, "NEGATIVES", {"val": 100, "test": 100})
    monkeypatch.setattr(uc, "DRAWN", {"scribble": 40, "near-blank": 20})
    monkeypatch.setattr(uc, "FIT_IMAGES", 300)
    (r,) = uc.calibrate_task("mnist", ("hybrid",), write=False)
    assert set(r["val_auroc_by_score"]) == set(SCORES)
    assert r["score"] == max(r["val_auroc_by_score"], key=r["val_auroc_by_score"].get)
    assert r["val"]["positives"] == 200 and r["test"]["positives"] == 300
    assert r["val"]["false_alarms"] == pytest.approx(uc.VAL_FALSE_ALARMS, abs=0.006)  # the quantile it was set at
    assert set(r["test"]["per_source"]) == {"fashion", "scribble", "near-blank"}
    assert r["test"]["other_tasks"]["n"] == 100 and r["test"]["drawn"]["n"] == 60
    assert r["test"]["per_source"]["fashion"]["detection"] > 0.8  # garments are nothing like digits


@pytest.mark.parametrize("task", [t for t in TASKS.values() if t.input.kind != "photo"], ids=lambda t: t.name)
def test_every_handwriting_model_carries_its_committed_calibration(task):
    for kind in task.models:
        r = unsure_report.load(task, kind)
        assert r is not None, f"{task.name} {kind}: run qnn ood --task {task.name}"
        rule = UnsureRule.from_meta(read_meta(task.model_checkpoint(kind)))
        assert rule.score == r["score"] and rule.threshold == pytest.approx(r["threshold"], abs=1e-6)
        assert r["test"]["positives"] >= 520 and np.isfinite(r["test"]["auroc"])
        card = (ROOT / "checkpoints" / f"{task.model_checkpoint(kind).stem}.md").read_text()
        assert "\n".join(unsure_report.card_section(task, kind)) in card
    assert read_block("unsure") == unsure_report.table()
