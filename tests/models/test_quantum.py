"""The quantum layer against an independent numpy state-vector simulation of the same circuit."""

import numpy as np
import pytest
import torch

from qnn_core.models.quantum import QuantumLayer


def _apply_1q(state: np.ndarray, gate: np.ndarray, wire: int) -> np.ndarray:
    return np.moveaxis(np.tensordot(gate, state, axes=([1], [wire])), 0, wire)


def _apply_cnot(state: np.ndarray, control: int, target: int) -> np.ndarray:
    state = state.copy()
    idx = [slice(None)] * state.ndim
    idx[control] = 1
    sub = state[tuple(idx)]
    t = target if target < control else target - 1
    state[tuple(idx)] = np.flip(sub, axis=t)
    return state


def _ry(theta):
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array([[c, -s], [s, c]], dtype=complex)


def _rx(theta):
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array([[c, -1j * s], [-1j * s, c]], dtype=complex)


def reference_expvals(angles: np.ndarray, rx: np.ndarray, ry: np.ndarray, n: int, depth: int) -> np.ndarray:
    """<Z_w> for one input, written from the circuit's description only."""
    state = np.zeros((2,) * n, dtype=complex)
    state[(0,) * n] = 1
    for w in range(n):
        state = _apply_1q(state, _ry(angles[w]), w)
    for layer in range(depth):
        for w in range(n):
            state = _apply_1q(state, _rx(rx[layer * n + w]), w)
            state = _apply_1q(state, _ry(ry[layer * n + w]), w)
        for w in range(n):
            state = _apply_cnot(state, w, (w + 1) % n)
    probs = np.abs(state) ** 2
    out = []
    for w in range(n):
        p = np.moveaxis(probs, w, 0).reshape(2, -1).sum(1)
        out.append(p[0] - p[1])
    return np.array(out)


@pytest.mark.parametrize("n,depth", [(8, 3), (4, 2), (5, 4)])
def test_matches_numpy_statevector(n, depth):
    torch.manual_seed(n * 10 + depth)
    q = QuantumLayer(n, depth)
    # Random, non-trivial trainable parameters (the initial ones could hide a wiring mistake).
    with torch.no_grad():
        for p in q.parameters():
            p.uniform_(-np.pi, np.pi)
    angles = (torch.rand(6, n) * 2 - 1) * np.pi
    rx = np.array([m.params.item() for m in q.rx])
    ry = np.array([m.params.item() for m in q.ry])
    expected = np.stack([reference_expvals(a, rx, ry, n, depth) for a in angles.double().numpy()])
    circuit = q.forward_circuit(angles).detach().numpy()
    q.eval()
    with torch.no_grad():
        fast = q(angles).numpy()
    np.testing.assert_allclose(circuit, expected, atol=2e-5)
    np.testing.assert_allclose(fast, expected, atol=2e-5)


def test_gradients_reach_every_quantum_parameter():
    q = QuantumLayer(8, 3)
    angles = torch.randn(16, 8, requires_grad=True)
    (q(angles) * torch.randn(16, 8)).sum().backward()
    for name, p in q.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert angles.grad is not None and angles.grad.abs().sum() > 0


def test_fast_path_follows_parameter_updates():
    q = QuantumLayer(4, 2).eval()
    x = torch.randn(3, 4)
    with torch.no_grad():
        before = q(x).clone()
        q.rx[0].params.add_(1.0)
        after = q(x)
    assert not torch.allclose(before, after)
    np.testing.assert_allclose(after.numpy(), q.forward_circuit(x).detach().numpy(), atol=2e-5)


def test_eval_fast_path_gives_the_circuits_input_gradients():
    """Grad-CAM differentiates through the quantum branch in eval mode: the shortcut must give the same gradients."""
    torch.manual_seed(3)
    q = QuantumLayer(8, 3)
    weights = torch.randn(5, 8)
    angles = torch.randn(5, 8, requires_grad=True)
    (q.forward_circuit(angles) * weights).sum().backward()
    expected, angles.grad = angles.grad.clone(), None
    q.eval()
    (q(angles) * weights).sum().backward()
    np.testing.assert_allclose(angles.grad.numpy(), expected.numpy(), atol=1e-4)


def test_rejects_wrong_width():
    with pytest.raises(ValueError):
        QuantumLayer(8, 3)(torch.zeros(2, 7))


def _one_qubit_z(x: float, rx: np.ndarray, ry: np.ndarray) -> float:
    """<Z> of one wire alone: RY(x)|0>, then RX(a), RY(b) per layer (what every wire is without the ring)."""

    def ry_m(t):
        return np.array([[np.cos(t / 2), -np.sin(t / 2)], [np.sin(t / 2), np.cos(t / 2)]], complex)

    def rx_m(t):
        return np.array([[np.cos(t / 2), -1j * np.sin(t / 2)], [-1j * np.sin(t / 2), np.cos(t / 2)]])

    psi = ry_m(x) @ np.array([1, 0], complex)
    for a, b in zip(rx, ry):
        psi = ry_m(b) @ rx_m(a) @ psi
    return float(abs(psi[0]) ** 2 - abs(psi[1]) ** 2)


def test_without_the_ring_every_wire_is_its_own_one_qubit_circuit():
    """The ablation's no-entanglement control: each <Z_w> depends on wire w alone, on every evaluation path."""
    torch.manual_seed(3)
    layer = QuantumLayer(5, depth=3, entangle=False)
    angles = torch.rand(4, 5) * 2 * np.pi - np.pi
    theta = layer.theta().detach().numpy()  # (2, depth, n): RX then RY angles
    want = np.array(
        [[_one_qubit_z(float(angles[b, w]), theta[0, :, w], theta[1, :, w]) for w in range(5)] for b in range(4)]
    )
    layer.train()
    for path in ("tq", "fused"):
        layer.circuit_path = path
        np.testing.assert_allclose(layer(angles).detach().numpy(), want, atol=1e-5)
    layer.eval()
    np.testing.assert_allclose(layer(angles).detach().numpy(), want, atol=1e-5)
    assert "entangler=none" in repr(layer) and QuantumLayer(5).ring()
