"""The service the pages call: per-call quantum switch, Grad-CAM equal to pytorch-grad-cam's own, the verdict,
line reading, and which model is served."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch
from helpers import ROOT, draw_digit_one
from PIL import Image
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from qnn_core import jobs
from qnn_core.service import EmptyImageError, ImageInputError, TaskService
from qnn_core.tasks import get_task

pytestmark = pytest.mark.skipif(not get_task("mnist").checkpoint().is_file(), reason="no shipped mnist checkpoint")


def state(service: TaskService) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in service._predictor.model.state_dict().items()}


def test_quantum_off_is_per_call_and_changes_nothing_shared(digits: TaskService) -> None:
    before = state(digits)
    on = digits.classify(draw_digit_one())
    off = digits.classify(draw_digit_one(), quantum=False)
    again = digits.classify(draw_digit_one())
    assert on.quantum and not off.quantum
    assert not np.allclose(on.probs, off.probs)
    np.testing.assert_array_equal(on.probs, again.probs)
    np.testing.assert_array_equal(off.probs_quantum_on, on.probs)
    digits.explain(off)
    after = state(digits)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not any(p.requires_grad or p.grad is not None for p in digits._predictor.model.parameters())


@pytest.mark.parametrize("quantum", [True, False])
def test_gradcam_equals_pytorch_grad_cam_hooked_on_the_layer(digits: TaskService, quantum: bool) -> None:
    result = digits.classify(draw_digit_one(), quantum=quantum)
    mine = digits.explain(result).heat
    private = copy.deepcopy(digits._predictor.model).requires_grad_(True)

    class Switched(torch.nn.Module):  # the reference: hooks on the model's own last block, the branch as switched
        def __init__(self) -> None:
            super().__init__()
            self.m = private

        def forward(self, x):
            return self.m.logits_and_expvals(x, quantum=quantum)[0]

    with GradCAM(model=Switched(), target_layers=[private.backbone.last_conv_layer]) as cam:
        ref = cam(input_tensor=result.prepared.tensor, targets=[ClassifierOutputTarget(result.index)])[0]
    np.testing.assert_allclose(mine, ref, atol=1e-5)


def test_overlay_leaves_paper_where_the_model_does_not_look(digits: TaskService) -> None:
    drawing = draw_digit_one(size=(400, 300))  # wider than tall: the crop leaves paper on both sides
    overlay = np.asarray(digits.explain(digits.classify(drawing)).overlay)
    assert overlay.shape == (300, 400, 3)
    assert (overlay[:, :20] == 255).all()  # far outside the ink: still white paper, not tinted blue


def test_bad_input_is_a_one_line_error(digits: TaskService) -> None:
    with pytest.raises(EmptyImageError):
        digits.classify(Image.new("RGB", (280, 280), "white"))
    with pytest.raises(ImageInputError) as err:
        digits.classify(b"not an image at all")
    assert "\n" not in str(err.value)


def test_animals_verdict_says_none_of_these_for_a_coffee_cup() -> None:
    if not get_task("animals").checkpoint().is_file():
        pytest.skip("no shipped animals checkpoint")
    animals = TaskService.get("animals")
    cup = animals.classify((ROOT / "assets" / "animals" / "coffee.jpg").read_bytes())
    cat = animals.classify((ROOT / "assets" / "animals" / "chelsea.jpg").read_bytes())
    assert cup.verdict.unsure and "ImageNet" in cup.verdict.reason
    assert cat.label == "cat" and not cat.verdict.unsure


def test_a_line_is_read_once_and_decided_again_cheaply(digits: TaskService, monkeypatch) -> None:
    data, text = digits.example_line(10, 10, seed=3)
    first = digits.read_line(data, expect=10)
    from qnn_core.service import task_service

    monkeypatch.setattr(task_service, "analyse_line", lambda *a, **k: pytest.fail("the line was analysed again"))
    second = digits.read_line(data, expect=10)
    assert first.text == second.text and len(first.text) == 10


def test_get_caches_one_service_per_served_checkpoint(monkeypatch, tmp_path) -> None:
    a, b = TaskService.get("mnist"), TaskService.get("mnist")
    assert a is b and a.serving().job_id is None
    other = tmp_path / "other.pt"
    other.write_bytes(get_task("mnist").checkpoint().read_bytes())
    from qnn_core.service import task_service

    monkeypatch.setattr(task_service.jobs, "served", lambda task, visitor=None: jobs.Served(other, 7, "yours"))
    c = TaskService.get("mnist")
    assert c is not a and c.serving().checkpoint == other and c.serving().job_id == 7
    assert TaskService.get("mnist", visitor="v" * 22) is c


def test_the_model_cache_keeps_other_visitors_models_and_is_bounded(monkeypatch, tmp_path) -> None:
    """Thirty visitors' models cannot all stay loaded: the least recently used goes first, the others stay."""
    from qnn_core.service import task_service

    monkeypatch.setattr(TaskService, "_cache", OrderedDict())
    monkeypatch.setenv("QNN_MODEL_CACHE", "2")
    paths = {}
    for v in ("a", "b", "c"):
        paths[v] = tmp_path / f"{v}.pt"
        paths[v].write_bytes(get_task("mnist").checkpoint().read_bytes())
    monkeypatch.setattr(
        task_service.jobs, "served", lambda task, visitor=None: jobs.Served(paths[visitor[0]], 1, "yours")
    )
    a = TaskService.get("mnist", visitor="a" * 22)
    b = TaskService.get("mnist", visitor="b" * 22)
    assert TaskService.get("mnist", visitor="a" * 22) is a  # b's model did not evict a's: both stay
    assert TaskService.cached() == 2
    TaskService.get("mnist", visitor="c" * 22)  # a third: b, the least recently used, goes
    assert TaskService.cached() == 2
    assert TaskService.get("mnist", visitor="a" * 22) is a
    assert TaskService.get("mnist", visitor="b" * 22) is not b


def test_home_quotes_the_served_accuracy_and_the_whole_training() -> None:
    from qnn_core.evaluation.report import load_eval
    from qnn_core.service import model_summary

    fashion = model_summary("fashion", True)
    assert fashion.accuracy == load_eval(get_task("fashion"), True)["accuracy"]  # as served, mirrored pair averaged
    assert fashion.epochs == 28 and 130 < fashion.train_minutes < 145  # five chained runs, not the last one


def test_a_page_can_serve_the_quantum_bottleneck_and_its_qubits_carry_the_decision():
    assert TaskService.offered_models("mnist") == ("hybrid", "bottleneck")
    assert TaskService.offered_models("animals") == ("hybrid",)
    service = TaskService.get("mnist", "bottleneck")
    assert service is TaskService.get("mnist", "bottleneck") and service is not TaskService.get("mnist")
    assert service.is_bottleneck and service.is_hybrid and not TaskService.get("mnist").is_bottleneck
    on, off = service.classify(draw_digit_one()), service.classify(draw_digit_one(), quantum=False)
    assert on.label == "1"
    blank = service.classify(draw_digit_one(width=40), quantum=False)
    assert np.allclose(off.probs, blank.probs)  # qubits off: every input gets the head's bias alone
    assert "with them off" in service.bottleneck_line() and TaskService.get("mnist").bottleneck_line() is None


def test_many_visitors_getting_models_at_once_share_a_bounded_cache(monkeypatch, tmp_path) -> None:
    """Sessions are threads: twelve visitors asking at once for four checkpoints each get a working service, one per
    checkpoint, and the cache never holds more than its bound."""
    from concurrent.futures import ThreadPoolExecutor

    from qnn_core.service import task_service

    monkeypatch.setattr(TaskService, "_cache", OrderedDict())
    monkeypatch.setenv("QNN_MODEL_CACHE", "3")
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"m{i}.pt")
        paths[-1].write_bytes(get_task("mnist").checkpoint().read_bytes())
    monkeypatch.setattr(
        task_service.jobs, "served", lambda task, visitor=None: jobs.Served(paths[int(visitor[-1]) % 4], 1, "yours")
    )
    image = draw_digit_one()

    def visit(i: int) -> str:
        return TaskService.get("mnist", visitor=f"visitor-token-{i:08d}").classify(image).label

    with ThreadPoolExecutor(6) as pool:
        labels = list(pool.map(visit, range(12)))
    assert len(set(labels)) == 1 and TaskService.cached() <= 3


def test_the_overlay_colours_are_pytorch_grad_cams() -> None:
    from pytorch_grad_cam.utils.image import show_cam_on_image

    from qnn_core.inference.explain import _cam_on_image

    rng = np.random.default_rng(0)
    image, mask = rng.random((40, 50, 3), dtype=np.float32), rng.random((40, 50), dtype=np.float32)
    for weight in (0.0, 0.55, 1.0):
        np.testing.assert_array_equal(
            _cam_on_image(image, mask, weight), show_cam_on_image(image, mask, True, image_weight=weight)
        )
