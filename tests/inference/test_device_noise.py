"""The circuit on a simulated device: the device list matches qiskit's snapshots, the routed circuit computes the
same <Z> as the model's, the routing figures describe a real path on the chip, the noise model is qiskit-aer's
own for those qubits, and the noisy runs are seeded and pull <Z> towards 0."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from qnn_core.inference import device_noise, fake_devices, qiskit_circuit
from qnn_core.models.checkpoint import load_checkpoint
from qnn_core.tasks import get_task

pytestmark = pytest.mark.skipif(not get_task("mnist").checkpoint().is_file(), reason="no shipped mnist checkpoint")


@pytest.fixture(scope="module")
def layer():
    return load_checkpoint(get_task("mnist").checkpoint())[0].quantum.eval()


@pytest.fixture(scope="module")
def kolkata(layer):
    return device_noise.simulated(layer, fake_devices.DEFAULT_DEVICE)  # the app's default: shared with its test


def test_the_device_list_is_qiskits_snapshots():
    assert fake_devices.DEFAULT_DEVICE == "fake_kolkata" and fake_devices.BY_NAME["fake_kolkata"].qubits == 27
    for d in fake_devices.DEVICES:
        backend = device_noise.fake_backend(d.name)
        conf, props = backend.configuration(), backend.properties()
        assert (backend.name(), conf.n_qubits, str(props.last_update_date.date())) == (d.name, d.qubits, d.snapshot)
        assert d.qubits >= 8
    assert fake_devices.offered(9) == fake_devices.DEVICES and fake_devices.offered(17) == tuple(
        d for d in fake_devices.DEVICES if d.name != "fake_guadalupe"
    )
    with pytest.raises(device_noise.QpuError, match="unknown device 'fake_nowhere'"):
        device_noise.check_fits("fake_nowhere", 8)
    with pytest.raises(device_noise.QpuError, match="fake_lima has 5 qubits; this model's circuit needs 8"):
        device_noise.check_fits("fake_lima", 8)


def test_the_routed_circuit_computes_the_models_expvals(layer, kolkata):
    """Noise-free, the transpiled, routed circuit (SWAPs, the device's basis gates, the final qubit permutation) is
    the model's circuit: each wire's <Z>, read on the qubit it is measured on, is the model's."""
    routed = kolkata.routed
    measured = {
        routed.find_bit(i.clbits[0]).index: routed.find_bit(i.qubits[0]).index
        for i in routed.data
        if i.operation.name == "measure"
    }
    rng = np.random.default_rng(0)
    for angles in rng.uniform(-np.pi, np.pi, (3, 8)):
        bound = routed.assign_parameters(dict(zip(sorted(routed.parameters, key=lambda p: p.index), angles)))
        probs = Statevector(bound.remove_final_measurements(inplace=False)).probabilities_dict()
        z = np.zeros(8)
        for bits, p in probs.items():
            for w in range(8):
                z[w] += p * (1 - 2 * int(bits[-1 - measured[w]]))
        model = qiskit_circuit.statevector_expvals(qiskit_circuit.model_circuit(layer, angles))
        np.testing.assert_allclose(z, model, atol=1e-6)


def test_the_routing_figures_describe_the_chip(kolkata):
    r = kolkata.routing
    couplers = set(r.edges)
    assert (r.cnots_before, r.depth_before) == (24, 32)
    assert r.cnots_after > r.cnots_before and r.depth_after > r.depth_before and r.swaps > 0
    assert len(r.physical) == 8 and set(r.initial) == set(r.final) == set(r.physical)
    assert all((a, b) in couplers and {a, b} <= set(r.physical) for a, b, _ in r.cnot_edges + r.swap_edges)
    assert sum(k for *_, k in r.cnot_edges) == r.cnots_after
    assert len(r.free.qubits) > 8 and r.free.cnots < r.cnots_after  # free, it would spread wider with fewer CNOTs
    assert len(r.coordinates) == 27 and len(r.edges) == 28  # Falcon's heavy-hex: 27 qubits, 28 couplers
    assert 0 < r.median_cx_error < 0.05 and 0 < r.median_cx_error_used < 0.05
    assert [q.physical for q in r.qubits] == list(r.physical)
    assert all(0 < q.readout_error < 0.2 and q.t1_us > 1 and q.t2_us > 1 for q in r.qubits)
    assert "x[0]" in r.drawing and "√X" in r.drawing


def test_the_noise_model_is_qiskit_aers_own_on_those_qubits():
    """Built for a few qubits only, it is what qiskit-aer builds for the whole device, on those qubits (checked on
    the smallest device of the list: building the whole model is what device_noise avoids)."""
    from qiskit_aer.noise import NoiseModel

    backend = device_noise.fake_backend("fake_guadalupe")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        full = NoiseModel.from_backend(backend)
    ours = device_noise.noise_model(backend, range(8))
    compared = 0
    for gate, errors in ours._local_quantum_errors.items():
        for qubits, error in errors.items():
            assert full._local_quantum_errors[gate][qubits] == error
            compared += 1
    for qubits, error in ours._local_readout_errors.items():
        assert full._local_readout_errors[qubits] == error
    assert compared >= 8 * 4 + 7  # id, sx, x, reset on each of the 8 qubits, cx on each coupler between them


def test_noisy_runs_are_seeded_and_pull_expvals_towards_zero(layer, kolkata):
    angles = np.random.default_rng(1).uniform(-np.pi, np.pi, (3, 8))
    runs = kolkata.run(angles, 1000, seed=5, reruns=4)
    assert runs.shape == (4, 3, 8) and np.all(np.abs(runs) <= 1)
    np.testing.assert_allclose(runs * 1000, np.round(runs * 1000), atol=1e-9)  # 1,000 shots: steps of 2/1000
    np.testing.assert_array_equal(runs, kolkata.run(angles, 1000, seed=5, reruns=4))
    assert not np.array_equal(runs, kolkata.run(angles, 1000, seed=6, reruns=4))
    exact = np.stack([qiskit_circuit.statevector_expvals(qiskit_circuit.model_circuit(layer, a)) for a in angles])
    slope = float((exact * runs.mean(0)).sum() / (exact * exact).sum())
    assert 0.2 < slope < 0.9  # ~75 noisy CNOTs: the <Z> keep about half their size, and their sign
    estimator = device_noise.DeviceEstimator(kolkata, 100, seed=0)
    first, second = estimator.expvals(angles), estimator.expvals(angles)
    assert first.shape == (3, 8) and not np.array_equal(first.numpy(), second.numpy())  # the seeds move on
