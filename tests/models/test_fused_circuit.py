"""The fused circuit against TorchQuantum gate by gate: values, every parameter's gradient, the input gradients.

TorchQuantum is the definition of the circuit, so the fused path (qnn_core/models/fused_circuit.py) must agree
with `forward_circuit` on random inputs and random parameters, over a spread of sizes that reaches every branch
of the fused code: depth 1 (no state at all), the direct simulation (one chunk, two, three) and U built per call.
"""

from __future__ import annotations

import math

import pytest
import torch

from qnn_core.models import fused_circuit as fused
from qnn_core.models.checkpoint import load_checkpoint
from qnn_core.models.circuit_plan import chunk_sizes, plan_for, ring_permutation
from qnn_core.models.quantum import CIRCUIT_PATHS, QuantumLayer
from qnn_core.tasks import get_task

VALUE_TOL, GRAD_TOL = 1e-5, 1e-4


def random_layer(n: int, depth: int, seed: int) -> QuantumLayer:
    torch.manual_seed(seed)
    layer = QuantumLayer(n, depth).train()
    with torch.no_grad():  # non-trivial angles: the initial ones could hide a wiring mistake
        for p in layer.parameters():
            p.uniform_(-math.pi, math.pi)
    return layer


def values_and_grads(layer: QuantumLayer, angles: torch.Tensor, weights: torch.Tensor, path: str):
    layer.zero_grad(set_to_none=True)
    x = angles.clone().requires_grad_()
    out = layer.forward_circuit(x) if path == "tq" else layer.forward_fused(x)
    (out * weights).sum().backward()
    return out.detach(), x.grad, [p.grad.clone() for p in layer.circuit_parameters()]


# (qubits, depth, batch): 2..12 qubits, depths 1..6; the comments say which branch of fused.expvals runs.
SIZES = [
    (2, 1, 9),  # depth 1: product of one-qubit <Z>
    (2, 4, 16),  # batch >= 4 * 2^n: U built per call
    (3, 2, 64),  # U per call
    (4, 6, 7),  # direct, one chunk
    (5, 3, 33),  # direct, chunks (3, 2)
    (6, 5, 40),  # direct, chunks (3, 3)
    (7, 1, 20),  # depth 1
    (8, 3, 48),  # the shipped shape
    (9, 2, 12),  # three chunks
    (10, 4, 8),
    (11, 3, 6),
    (12, 6, 4),  # the largest layer: three chunks of four wires
]


@pytest.mark.parametrize("n,depth,batch", SIZES)
def test_fused_matches_torchquantum(n, depth, batch):
    layer = random_layer(n, depth, seed=100 * n + depth)
    angles = (torch.rand(batch, n) * 2 - 1) * math.pi
    weights = torch.randn(batch, n)  # a generic loss, so every output's gradient counts
    ref, ref_dx, ref_dp = values_and_grads(layer, angles, weights, "tq")
    out, dx, dp = values_and_grads(layer, angles, weights, "fused")
    assert out.shape == ref.shape and out.is_contiguous()
    assert (out - ref).abs().max() <= VALUE_TOL
    assert (dx - ref_dx).abs().max() <= GRAD_TOL
    worst = max(float((a - b).abs().max()) for a, b in zip(dp, ref_dp))
    assert worst <= GRAD_TOL, f"parameter gradient off by {worst:.2e}"


def test_the_spread_reaches_every_branch():
    """If the branch rule changes, SIZES must still test all three routes."""
    routes = set()
    for n, depth, batch in SIZES:
        plan = plan_for(n, tuple(QuantumLayer(n, depth).ring()), torch.device("cpu"))
        routes.add("depth1" if depth == 1 else "unitary" if fused.builds_unitary(plan, depth, batch) else "direct")
        assert sum(plan.chunks) == n
    assert routes == {"depth1", "unitary", "direct"}
    assert {len(chunk_sizes(n)) for n, _, _ in SIZES} == {1, 2, 3}


def test_ring_permutation_is_the_cnot_ring():
    """Basis state by basis state, as the CNOTs act one after another (wire 0 = most significant bit)."""
    n, ring = 4, ((0, 1), (1, 2), (2, 3), (3, 0))
    f = ring_permutation(n, ring)
    for k in range(2**n):
        bits = [(k >> (n - 1 - w)) & 1 for w in range(n)]
        for c, t in ring:
            bits[t] ^= bits[c]
        assert int(f[k]) == int("".join(map(str, bits)), 2)


def test_fused_unitary_equals_torchquantum_unitary():
    layer = random_layer(6, 3, seed=7)
    u_tq = layer.tq_unitary()
    u = fused.unitary(layer.plan(torch.device("cpu")), layer.theta().detach())
    assert (u - u_tq).abs().max() <= VALUE_TOL
    assert (u.conj().T @ u - torch.eye(64)).abs().max() <= 1e-5  # and it is unitary


def test_training_uses_the_selected_path(monkeypatch):
    layer = random_layer(4, 2, seed=1)
    assert layer.circuit_path == "fused" and CIRCUIT_PATHS == ("tq", "fused")
    calls = []
    monkeypatch.setattr(layer, "forward_circuit", lambda a: calls.append("tq") or torch.zeros(len(a), 4))
    layer(torch.zeros(3, 4))
    assert calls == []
    layer.circuit_path = "tq"
    layer(torch.zeros(3, 4))
    assert calls == ["tq"]
    assert QuantumLayer(3, 1, circuit_path="tq").circuit_path == "tq"


def test_a_bad_circuit_path_is_refused_in_one_sentence():
    with pytest.raises(ValueError, match=r"^circuit_path must be one of 'tq', 'fused', got 'gates'\.$"):
        QuantumLayer(4, 2, circuit_path="gates")
    layer = QuantumLayer(4, 2)
    with pytest.raises(ValueError, match="circuit_path"):
        layer.circuit_path = "fast"
    assert layer.circuit_path == "fused"


def test_state_dict_keys_do_not_depend_on_the_path():
    a, b = QuantumLayer(3, 2, circuit_path="tq"), QuantumLayer(3, 2)
    assert list(a.state_dict()) == list(b.state_dict())
    assert list(a.state_dict()) == [f"{g}.{i}.params" for g in ("rx", "ry") for i in range(6)]


def _old_eval(layer: QuantumLayer, angles: torch.Tensor) -> torch.Tensor:
    """The eval shortcut as it was shipped: U from TorchQuantum on basis states, psi built qubit by qubit."""
    u = layer.tq_unitary()
    half = angles.float() / 2
    psi = torch.ones(angles.shape[0], 1)
    for w in range(layer.n_qubits):
        qubit = torch.stack([torch.cos(half[:, w]), torch.sin(half[:, w])], dim=1)
        psi = (psi[:, :, None] * qubit[:, None, :]).reshape(angles.shape[0], -1)
    return ((psi.to(u.dtype) @ u.T).abs() ** 2) @ layer._z_signs


def test_shipped_checkpoint_predictions_do_not_change():
    """The MNIST hybrid's quantum layer in eval mode, new construction against the old one, on the angles its
    backbone gives test images, and on random ones; and the old and new constructions of U."""
    path = get_task("mnist").checkpoint()
    if not path.is_file():
        pytest.skip(f"{path} not present")
    model, _ = load_checkpoint(path)
    model.eval()
    layer = model.quantum
    torch.manual_seed(0)
    angles = torch.cat(
        [
            (torch.rand(64, layer.n_qubits) * 2 - 1) * math.pi,
            math.pi * torch.tanh(model.to_angles(torch.randn(64, model.backbone.out_dim))),
        ]
    ).detach()
    with torch.no_grad():
        old = _old_eval(layer, angles)
        new = layer(angles)
        layer.circuit_path = "tq"  # the eval cache built by TorchQuantum instead
        new_tq = layer(angles)
    assert (new - old).abs().max() <= VALUE_TOL
    assert (new_tq - old).abs().max() <= VALUE_TOL


def test_eval_cache_follows_loaded_weights_and_replaced_parameters():
    layer = random_layer(4, 2, seed=3).eval()
    x = torch.randn(5, 4)
    with torch.no_grad():
        before = layer(x).clone()
        other = random_layer(4, 2, seed=4)
        layer.load_state_dict(other.state_dict())
        assert torch.allclose(layer(x), other.forward_circuit(x), atol=VALUE_TOL)
        layer.rx[0].params = torch.nn.Parameter(torch.full((1, 1), 0.5))  # a new Parameter object
        assert torch.allclose(layer(x), layer.forward_circuit(x), atol=VALUE_TOL)
    assert not torch.allclose(before, layer(x))


def test_eval_input_gradients_match_the_circuit():
    """Grad-CAM differentiates through the eval shortcut; it must give the circuit's input gradients."""
    layer = random_layer(8, 3, seed=5)
    weights, angles = torch.randn(3, 8), torch.randn(3, 8)
    _, expected, _ = values_and_grads(layer, angles, weights, "tq")
    layer.eval()
    x = angles.clone().requires_grad_()
    (layer(x) * weights).sum().backward()
    assert (x.grad - expected).abs().max() <= GRAD_TOL


def test_product_state_is_the_kronecker_product():
    layer = QuantumLayer(9, 1)
    angles = torch.rand(300, 9) * 6 - 3  # large enough for the per-chunk gathers
    half = angles / 2
    expected = torch.ones(300, 1)
    for w in range(9):
        qubit = torch.stack([torch.cos(half[:, w]), torch.sin(half[:, w])], 1)
        expected = (expected[:, :, None] * qubit[:, None, :]).reshape(300, -1)
    assert (layer.product_state(angles) - expected).abs().max() <= 1e-6
    assert (layer.product_state(angles[:1]) - expected[:1]).abs().max() <= 1e-6  # in one shot
