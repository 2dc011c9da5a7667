"""The same circuit in TorchQuantum and in PennyLane `default.qubit` (torch interface), side by side.

Same encoding (RY per wire), same gates (depth x [RX, RY per wire + CNOT ring]), same parameters (the shipped
MNIST hybrid's trained circuit) and the same inputs (the angles its backbone produces for test images). PennyLane
is timed both with parameter broadcasting (one batched call) and as a per-sample QNode loop, the way the
original project ran its circuit. TorchQuantum runs both ways training can use (QuantumLayer.circuit_path): gate
by gate, and fused. PennyLane is a benchmark-only dependency (the bench extra: pip install -e '.[bench]').
"""

from __future__ import annotations

import torch

from qnn_core.inference.predict import Predictor
from qnn_core.models.quantum import QuantumLayer, bounded_angles

from .sections import Budget, test_batch
from .timing import interleaved, summary_ms, time_calls

TOLERANCE = 1e-5
GRAD_TOLERANCE = 1e-4
GOAL_LOOP_SPEEDUP = 50.0
GOAL_FUSED_VS_BROADCAST = 8.0  # the fused training path against PennyLane's broadcast batch, forward + backward


def pennylane_available() -> bool:
    try:
        import pennylane  # noqa: F401
    except ImportError:
        return False
    return True


def circuit_parameters(layer: QuantumLayer) -> tuple[torch.Tensor, torch.Tensor]:
    """The trained RX and RY angles as (depth, n_qubits) tensors, in the order TorchQuantum applies them."""
    n, d = layer.n_qubits, layer.depth
    rx = torch.stack([layer.rx[i].params.detach().reshape(()) for i in range(n * d)]).reshape(d, n)
    ry = torch.stack([layer.ry[i].params.detach().reshape(()) for i in range(n * d)]).reshape(d, n)
    return rx, ry


def pennylane_qnode(layer: QuantumLayer):
    """A QNode that applies exactly QuantumLayer's circuit; works on one sample or a broadcast batch."""
    import pennylane as qml

    n = layer.n_qubits
    ring = layer.ring()
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, interface="torch")
    def circuit(angles, rx, ry):
        for w in range(n):
            qml.RY(angles[..., w], wires=w)
        for depth in range(rx.shape[0]):
            for w in range(n):
                qml.RX(rx[depth, w], wires=w)
                qml.RY(ry[depth, w], wires=w)
            for a, b in ring:
                qml.CNOT(wires=[a, b])
        return [qml.expval(qml.PauliZ(w)) for w in range(n)]

    return circuit


def _stack(expvals) -> torch.Tensor:
    return torch.stack(list(expvals), dim=-1)


def compare(budget: Budget, task_name: str = "mnist") -> dict:
    """Check agreement to TOLERANCE, then time forward and forward+backward on each route."""
    predictor = Predictor(task_name)
    model = predictor.model.eval()
    layer = model.quantum.requires_grad_(True)  # a Predictor freezes its model; the gradients are compared here
    with torch.no_grad():
        angles = bounded_angles(model.to_angles(model.backbone(test_batch(task_name, budget.sim_batch)))).float()
    rx, ry = circuit_parameters(layer)
    qnode = pennylane_qnode(layer)
    bsz = angles.shape[0]

    # Agreement of the expectation values, and of the gradients with respect to inputs and parameters.
    with torch.no_grad():
        tq = layer.forward_circuit(angles).double()
        fused = layer.forward_fused(angles).double()
        tq_unitary = layer.forward_unitary(angles).double()
        pl_batched = _stack(qnode(angles, rx, ry)).double()
        pl_loop = torch.stack([_stack(qnode(angles[i], rx, ry)) for i in range(bsz)]).double()
    diffs = {
        "pennylane_batched_vs_torchquantum": float((pl_batched - tq).abs().max()),
        "pennylane_loop_vs_torchquantum": float((pl_loop - tq).abs().max()),
        "torchquantum_unitary_vs_circuit": float((tq_unitary - tq).abs().max()),
        "fused_vs_torchquantum": float((fused - tq).abs().max()),
    }
    bad = {k: v for k, v in diffs.items() if v > TOLERANCE}
    if bad:
        raise AssertionError(f"expectation values disagree beyond {TOLERANCE}: {bad}")
    a_tq = angles.clone().requires_grad_()
    layer.zero_grad(set_to_none=True)
    layer.forward_circuit(a_tq).sum().backward()
    tq_grad_rx, tq_grad_ry = circuit_parameters_grad(layer)
    a_fused = angles.clone().requires_grad_()
    layer.zero_grad(set_to_none=True)
    layer.forward_fused(a_fused).sum().backward()
    fused_grad_rx, fused_grad_ry = circuit_parameters_grad(layer)
    fused_grad_diff = max(
        float((a_fused.grad - a_tq.grad).abs().max()),
        float((fused_grad_rx - tq_grad_rx).abs().max()),
        float((fused_grad_ry - tq_grad_ry).abs().max()),
    )
    if fused_grad_diff > GRAD_TOLERANCE:
        raise AssertionError(f"fused gradients disagree with TorchQuantum's by {fused_grad_diff:.1e}")
    a_pl, rx_pl, ry_pl = angles.clone().requires_grad_(), rx.clone().requires_grad_(), ry.clone().requires_grad_()
    _stack(qnode(a_pl, rx_pl, ry_pl)).sum().backward()
    grad_diff = max(
        float((a_tq.grad.double() - a_pl.grad.double()).abs().max()),
        float((tq_grad_rx.double() - rx_pl.grad.double()).abs().max()),
    )

    def fwd_tq():
        with torch.no_grad():
            layer.forward_circuit(angles)

    def fwd_fused():
        with torch.no_grad():
            layer.forward_fused(angles)

    def fwd_tq_unitary():
        with torch.no_grad():
            layer.forward_unitary(angles)

    def fwd_pl_batched():
        with torch.no_grad():
            _stack(qnode(angles, rx, ry))

    def fwd_pl_loop():
        with torch.no_grad():
            torch.stack([_stack(qnode(angles[i], rx, ry)) for i in range(bsz)])

    a = angles.clone().requires_grad_()
    w_rx, w_ry = rx.clone().requires_grad_(), ry.clone().requires_grad_()

    def train_tq():
        layer.zero_grad(set_to_none=True)
        layer.forward_circuit(a).sum().backward()

    def train_fused():
        layer.zero_grad(set_to_none=True)
        layer.forward_fused(a).sum().backward()

    def train_pl_batched():
        _stack(qnode(a, w_rx, w_ry)).sum().backward()

    def train_pl_loop():
        torch.stack([_stack(qnode(a[i], w_rx, w_ry)) for i in range(bsz)]).sum().backward()

    r, rl, wu = budget.sim_repeats, budget.sim_loop_repeats, budget.warmup
    # The batched routes in turn (one load for all), the per-sample loop alone: it takes seconds a call.
    fwd = interleaved(
        {
            "torchquantum_batched": fwd_tq,
            "fused": fwd_fused,
            "torchquantum_unitary_cached": fwd_tq_unitary,
            "pennylane_batched": fwd_pl_batched,
        },
        r,
        wu,
    )
    bwd = interleaved(
        {"torchquantum_batched": train_tq, "fused": train_fused, "pennylane_batched": train_pl_batched}, r, wu
    )
    forward = {k: summary_ms(v) for k, v in fwd.items()} | {
        "pennylane_loop": summary_ms(time_calls(fwd_pl_loop, rl, 1))
    }
    backward = {k: summary_ms(v) for k, v in bwd.items()} | {
        "pennylane_loop": summary_ms(time_calls(train_pl_loop, rl, 1))
    }

    def ratio(times: dict, slow: str, fast: str) -> float:
        return round(times[slow]["p50_ms"] / times[fast]["p50_ms"], 1)

    import pennylane

    return {
        "what": f"{task_name} hybrid's trained circuit ({layer.n_qubits} qubits, depth {layer.depth}), inputs = its "
        f"angles for {bsz} test images; PennyLane {pennylane.__version__} default.qubit, torch interface, "
        "backprop; times are for the whole batch",
        "batch": bsz,
        "max_abs_diff": diffs,
        "max_abs_grad_diff": grad_diff,
        "tolerance": TOLERANCE,
        "max_abs_grad_diff_fused_vs_torchquantum": fused_grad_diff,
        "grad_tolerance": GRAD_TOLERANCE,
        "forward_ms": forward,
        "forward_backward_ms": backward,
        "speedup": {
            "forward_vs_pennylane_loop": ratio(forward, "pennylane_loop", "torchquantum_batched"),
            "forward_vs_pennylane_batched": ratio(forward, "pennylane_batched", "torchquantum_batched"),
            "forward_unitary_vs_pennylane_loop": ratio(forward, "pennylane_loop", "torchquantum_unitary_cached"),
            "train_vs_pennylane_loop": ratio(backward, "pennylane_loop", "torchquantum_batched"),
            "train_vs_pennylane_batched": ratio(backward, "pennylane_batched", "torchquantum_batched"),
            "forward_fused_vs_pennylane_batched": ratio(forward, "pennylane_batched", "fused"),
            "train_fused_vs_pennylane_batched": ratio(backward, "pennylane_batched", "fused"),
            "train_fused_vs_pennylane_loop": ratio(backward, "pennylane_loop", "fused"),
            "train_fused_vs_torchquantum": ratio(backward, "torchquantum_batched", "fused"),
        },
        "goal_loop_speedup": GOAL_LOOP_SPEEDUP,
        "goal_fused_vs_broadcast": GOAL_FUSED_VS_BROADCAST,
    }


def circuit_parameters_grad(layer: QuantumLayer) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradients of the RX and RY angles, shaped like circuit_parameters."""
    n, d = layer.n_qubits, layer.depth
    rx = torch.stack([layer.rx[i].params.grad.reshape(()) for i in range(n * d)]).reshape(d, n)
    ry = torch.stack([layer.ry[i].params.grad.reshape(()) for i in range(n * d)]).reshape(d, n)
    return rx, ry
