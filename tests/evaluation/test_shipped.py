"""The committed checkpoints: present, consistent with the registry, and their numbers reproducible."""

import json

import numpy as np
import pytest
from helpers import mnist_on_canvas

from qnn_core.data.loaders import has_split, load_split, load_train_val
from qnn_core.evaluation.evaluate import evaluate
from qnn_core.evaluation.report import load_eval
from qnn_core.inference.predict import Predictor
from qnn_core.models.checkpoint import load_checkpoint
from qnn_core.tasks import TASKS, get_task

pytestmark = pytest.mark.slow

SHIPPED = [(name, q) for name in TASKS for q in (True, False)]


@pytest.mark.parametrize("name,quantum", SHIPPED)
def test_checkpoint_matches_registry_and_reproduces_its_numbers(name, quantum):
    task = get_task(name)
    path = task.checkpoint(quantum)
    # Small: a few MB. The animals checkpoints also hold the two fine-tuned EfficientNet stages (about 11 MB).
    assert path.stat().st_size < (12 if task.backbone == "efficientnet_lite0" else 5) * 2**20
    model, meta = load_checkpoint(path)
    assert meta["task"] == name and meta["classes"] == list(task.classes)
    assert model.config.quantum is quantum and model.config.num_classes == task.num_classes
    if quantum:
        assert model.config.n_qubits == 8 and model.config.q_depth >= 3
    committed = load_eval(task, quantum)
    if task.data.val is not None and not has_split(task, "test"):  # clothes: its test photos are kept apart
        val = load_train_val(task)[1]
        result = evaluate(model, task, val, compare_off=False)
        assert committed["split"] == "validation" and result["n"] == committed["n"] == len(val)
        assert "test_accuracy" not in meta  # nothing measured on a split that is not here
    else:
        test = load_split(task, "test")
        result = evaluate(model, task, test, compare_off=False)
        assert (
            result["n"]
            == len(test)
            == meta["test_size"]
            == {"letters": 520, "animals": 6000, "hiragana": 4260}.get(name, 10000)
        )
        # The number in the checkpoint, in the committed evaluation and a fresh measurement all agree.
        # (A tolerance of two images allows for floating-point differences between CPUs.)
        # A checkpoint measured before its task served mirrored pairs recorded the one-view number.
        mirrored = meta.get("test_time_mirror", False) == task.test_time_mirror
        as_recorded = "accuracy" if mirrored else "accuracy_single_view"
        assert result[as_recorded] == pytest.approx(meta["test_accuracy"], abs=2e-4)
    assert committed["accuracy"] == pytest.approx(result["accuracy"], abs=2e-4)
    assert np.abs(np.array(committed["confusion"]) - np.array(result["confusion"])).sum() <= 4


@pytest.mark.parametrize("polarity", ["light-on-dark", "dark-on-light", "transparent"])
def test_shipped_digits_model_reads_canvas_like_drawings(polarity):
    test = load_split(get_task("mnist"), "test")
    predictor = Predictor("mnist")
    offsets = [(10 + (i * 23) % 120, 10 + (i * 37) % 120) for i in range(20)]  # off-centre, all over the canvas
    right = sum(
        predictor.predict(mnist_on_canvas(test.images[i], polarity, offset=offsets[i])).index == test.labels[i]
        for i in range(20)
    )
    assert right >= 19


def test_predict_json_on_shipped_model(tmp_path):
    from helpers import draw_digit_one

    pred = Predictor("mnist").predict(draw_digit_one())
    assert pred.label == "1"
    assert pred.expvals is not None and pred.expvals.shape == (8,)
    assert np.isclose(pred.probs.sum(), 1, atol=1e-5)
    json.dumps({"label": pred.label, "top": pred.top})


@pytest.mark.parametrize("quantum", [True, False])
def test_letters_holdout_number_is_reproduced(quantum):
    """The UJI holdout accuracy on the model card comes from this measurement (measured only, never tuned on)."""
    from qnn_core.data.loaders import load_holdout
    from qnn_core.evaluation.report import holdout_path

    task = get_task("letters")
    model, _ = load_checkpoint(task.checkpoint(quantum))
    result = evaluate(model, task, load_holdout(task))
    committed = json.loads(holdout_path(task, quantum).read_text())
    assert result["n"] == committed["n"] == 1144
    assert result["accuracy"] == pytest.approx(committed["accuracy"], abs=2e-3)


def test_predict_cli_on_shipped_letters_model(tmp_path):
    """A test writer's real letter, drawn on a canvas and saved as a PNG, read by `predict --task letters`."""
    import subprocess
    import sys

    from helpers import ROOT

    from qnn_core.data.letters import writer_samples
    from qnn_core.data.strokes import CanvasStyle, render_canvas

    samples = [s for s in writer_samples("test") if s.char in "dD"]
    paths = []
    for i, s in enumerate(samples):
        paths.append(tmp_path / f"{i}.png")
        render_canvas(
            s.strokes, CanvasStyle(stroke_width=14, polarity="light-on-dark" if i % 2 else "dark-on-light")
        ).save(paths[-1])
    r = subprocess.run(
        [sys.executable, "-m", "qnn_core", "predict", "--task", "letters", *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) == 20 and all(len(line["top"]) == 3 for line in lines)
    assert sum(line["label"] == "d / D" for line in lines) >= 16
