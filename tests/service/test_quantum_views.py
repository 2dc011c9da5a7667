"""The quantum view's service calls on the served models: consistent with the prediction they explain, seeded,
read-only, and the same from many threads at once as from one."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from helpers import draw_digit_one

from qnn_core.service import TaskService
from qnn_core.tasks import get_task

pytestmark = pytest.mark.skipif(not get_task("mnist").checkpoint().is_file(), reason="no shipped mnist checkpoint")


@pytest.fixture(scope="module")
def one(digits):
    return digits.classify(draw_digit_one())


def test_state_view_is_the_circuit_the_prediction_ran(digits, one):
    state = digits.quantum_state(one)
    assert state.n_qubits == 8 and state.every_state and not state.mirrored
    np.testing.assert_allclose(state.final.expvals, one.expvals, atol=1e-5)  # the head read these
    for stage in (state.encoded, state.final):
        assert stage.probs.shape == (256,) and stage.probs.sum() == pytest.approx(1, abs=1e-5)
    assert state.encoded.entropy.max() < 1e-4  # the encoding is a product state ...
    assert state.final.entropy.max() > 0.1  # ... the CNOT rings entangle
    np.testing.assert_allclose(state.final.purity, (1 + np.linalg.norm(state.final.bloch, axis=1) ** 2) / 2, atol=1e-6)


def test_shots_are_seeded_and_exact_shots_are_the_prediction(digits, one):
    exact = digits.shots(one, 0)
    np.testing.assert_allclose(exact.exact_probs, one.probs, atol=1e-5)
    np.testing.assert_allclose(exact.exact_expvals, one.expvals, atol=1e-5)
    assert exact.flips == 0 and exact.label_counts == ((one.label, 20),)
    ten = digits.shots(one, 10, resamples=20, seed=3)
    assert ten.expvals.shape == (20, 8) and ten.probs.shape == (20, 10)
    np.testing.assert_allclose(ten.expvals * 10, np.round(ten.expvals * 10), atol=1e-9)  # 10 shots: k/10 steps
    again, other = digits.shots(one, 10, resamples=20, seed=3), digits.shots(one, 10, resamples=20, seed=4)
    np.testing.assert_array_equal(ten.probs, again.probs)
    assert not np.array_equal(ten.expvals, other.expvals)
    assert sum(k for _, k in ten.label_counts) == 20 and ten.flips == sum(lb != one.label for lb in ten.labels)
    assert ten.exact_label_probs.std() > exact.exact_label_probs.std()


def test_noise_shrinks_the_qubits_to_the_switched_off_branch(digits, one):
    clean = digits.noise(one, 0.0)
    np.testing.assert_allclose(clean.probs, one.probs, atol=1e-5)
    assert clean.purity == pytest.approx(1, abs=1e-4) and not clean.changed
    full = digits.noise(one, 1.0)  # every qubit fully mixed: all <Z> 0, which is what switching the branch off feeds
    np.testing.assert_allclose(full.expvals, 0, atol=1e-6)
    np.testing.assert_allclose(full.probs, digits.classify(draw_digit_one(), quantum=False).probs, atol=1e-5)
    assert full.purity == pytest.approx(1 / 256, rel=1e-3)
    some = digits.noise(one, 0.1)
    assert 1 / 256 < some.purity < 1 and np.all(some.qubit_purity < 1)


def test_the_views_change_nothing_shared(digits, one):
    before = {k: v.clone() for k, v in digits._predictor.model.state_dict().items()}
    digits.quantum_state(one), digits.shots(one, 100), digits.noise(one, 0.2)
    after = digits._predictor.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not any(p.requires_grad or p.grad is not None for p in digits._predictor.model.parameters())


def test_many_threads_get_the_single_threaded_answers(digits, one):
    ops = [("shots", s, seed) for s in (10, 100) for seed in (0, 1)] + [("noise", p, None) for p in (0.02, 0.3)]

    def run(op):
        kind, x, seed = op
        r = digits.shots(one, x, seed=seed) if kind == "shots" else digits.noise(one, x)
        return r.probs, r.expvals

    want = {op: run(op) for op in ops}
    barrier, bad, errors = threading.Barrier(6), [], []

    def worker(k: int) -> None:
        barrier.wait()
        try:
            for op in ops[k % len(ops) :] + ops[: k % len(ops)]:  # each thread in its own order
                if not all(np.array_equal(a, b) for a, b in zip(run(op), want[op])):
                    bad.append(op)
        except Exception as err:  # noqa: BLE001  (any failure in a thread fails the test)
            errors.append(repr(err))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not bad, (errors, bad)


def test_a_mirrored_task_averages_both_views_as_the_prediction_does():
    fashion = TaskService.get("fashion")
    result = fashion.classify(draw_digit_one())  # a '1' reads as trousers, mirrored or not
    assert fashion.quantum_state(result).mirrored
    np.testing.assert_allclose(fashion.shots(result, 0).exact_probs, result.probs, atol=1e-5)
    np.testing.assert_allclose(fashion.noise(result, 0.0).exact_expvals, result.expvals, atol=1e-5)


def test_a_classical_model_has_no_quantum_view():
    classical = TaskService("mnist", get_task("mnist").checkpoint(False))
    result = classical.classify(draw_digit_one())
    assert classical.quantum_state(result) is None and not classical.offers_noise
    with pytest.raises(ValueError, match="classical-only"):
        classical.shots(result, 10)
    with pytest.raises(ValueError, match="classical-only"):
        classical.noise(result, 0.1)
