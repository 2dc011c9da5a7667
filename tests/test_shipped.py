"""The committed checkpoints: present, consistent with the registry, and their numbers reproducible."""
import json

import numpy as np
import pytest

from conftest import mnist_on_canvas
from qnn_core.checkpoint import load_checkpoint
from qnn_core.data import load_split
from qnn_core.evaluate import evaluate
from qnn_core.predict import Predictor
from qnn_core.report import load_eval
from qnn_core.tasks import TASKS, get_task

SHIPPED = [(name, q) for name in TASKS for q in (True, False)]


@pytest.mark.parametrize("name,quantum", SHIPPED)
def test_checkpoint_matches_registry_and_reproduces_its_numbers(name, quantum):
    task = get_task(name)
    path = task.checkpoint(quantum)
    assert path.stat().st_size < 5 * 2**20
    model, meta = load_checkpoint(path)
    assert meta["task"] == name and meta["classes"] == list(task.classes)
    assert model.config.quantum is quantum and model.config.num_classes == task.num_classes
    if quantum:
        assert model.config.n_qubits == 8 and model.config.q_depth >= 3
    test = load_split(task, "test")
    result = evaluate(model, task, test)
    assert result["n"] == len(test) == (6000 if name == "animals" else 10000)
    # The number in the checkpoint, in the committed evaluation and a fresh measurement all agree.
    # (A tolerance of two images allows for floating-point differences between CPUs.)
    assert result["accuracy"] == pytest.approx(meta["test_accuracy"], abs=2e-4)
    committed = load_eval(task, quantum)
    assert committed["accuracy"] == pytest.approx(result["accuracy"], abs=2e-4)
    assert np.abs(np.array(committed["confusion"]) - np.array(result["confusion"])).sum() <= 4


@pytest.mark.parametrize("polarity", ["light-on-dark", "dark-on-light", "transparent"])
def test_shipped_digits_model_reads_canvas_like_drawings(polarity):
    test = load_split(get_task("mnist"), "test")
    predictor = Predictor("mnist")
    offsets = [(10 + (i * 23) % 120, 10 + (i * 37) % 120) for i in range(20)]  # off-centre, all over the canvas
    right = sum(predictor.predict(mnist_on_canvas(test.images[i], polarity, offset=offsets[i])).index == test.labels[i]
                for i in range(20))
    assert right >= 19


def test_predict_json_on_shipped_model(tmp_path):
    from conftest import draw_digit_one

    pred = Predictor("mnist").predict(draw_digit_one())
    assert pred.label == "1"
    assert pred.expvals is not None and pred.expvals.shape == (8,)
    assert np.isclose(pred.probs.sum(), 1, atol=1e-5)
    json.dumps({"label": pred.label, "top": pred.top})
