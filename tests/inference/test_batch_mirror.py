"""Test-time mirroring: where the registry turns it on, every path serves the mirrored pair averaged."""

import numpy as np
import pytest
import torch
from helpers import ROOT
from PIL import Image, ImageOps

from qnn_core.data.loaders import load_split
from qnn_core.evaluation.evaluate import evaluate
from qnn_core.inference.batch import mirrored, predict_logits
from qnn_core.inference.predict import Predictor
from qnn_core.models.hybrid import classical_net
from qnn_core.tasks import TASKS, get_task


def test_only_tasks_whose_classes_survive_a_mirror_use_it():
    # A mirrored character is another character (or none); garments and animals stay what they are.
    assert {name for name, t in TASKS.items() if t.test_time_mirror} <= {"fashion", "animals", "clothes"}
    assert get_task("animals").test_time_mirror


def test_mirrored_pair_makes_evaluation_mirror_invariant():
    """Averaging over the horizontal mirror (and not, say, a vertical flip) gives a picture and its mirror one answer."""
    torch.manual_seed(0)
    task = get_task("fashion")
    model = classical_net(num_classes=10).eval()
    images = load_split(task, "test").images[:16]
    flipped = mirrored(images)
    assert np.array_equal(flipped[:, :, 0], images[:, :, -1])  # left-right, not upside down
    assert torch.allclose(
        predict_logits(model, task, images, mirror=True), predict_logits(model, task, flipped, mirror=True), atol=1e-5
    )
    assert not torch.allclose(
        predict_logits(model, task, images, mirror=False), predict_logits(model, task, flipped, mirror=False), atol=1e-3
    )
    test = load_split(task, "test").subset(slice(0, 16))
    on, off = evaluate(model, task, test, mirror=True), evaluate(model, task, test, mirror=False)
    assert on["test_time_mirror"] and "accuracy_single_view" in on
    assert not off["test_time_mirror"] and "accuracy_single_view" not in off
    assert on["accuracy_single_view"] == off["accuracy"]


@pytest.mark.slow
def test_shipped_animals_model_gives_a_photo_and_its_mirror_the_same_probabilities():
    predictor = Predictor("animals")
    photo = Image.open(ROOT / "assets" / "animals" / "chelsea.jpg").convert("RGB")
    a, b = predictor.predict(photo), predictor.predict(ImageOps.mirror(photo))
    assert a.label == b.label == "cat"
    assert np.allclose(a.probs, b.probs, atol=1e-3)
    assert np.allclose(a.expvals, b.expvals, atol=1e-3)  # the quantum view shows the pair's mean
