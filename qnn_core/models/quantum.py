"""The variational quantum block: angle encoding -> trainable layers -> <Z> readout.

TorchQuantum is the definition of the circuit: its tq.RX / tq.RY modules hold the parameters (and so the
checkpoints' state_dict keys), and `forward_circuit` runs it gate by gate. Training runs, by default, the same
circuit fused (`fused_circuit.py`: one 2x2 matrix per wire and layer, Kronecker-structured layers as GEMMs, the
CNOT ring as one gather), exact to float32 and about ten times faster; `circuit_path="tq"` keeps TorchQuantum
gate by gate, for teaching and for comparing the two.

Because the trainable part does not depend on the input, inference (eval mode) uses an exact shortcut: the
trainable layers form one 2^n x 2^n unitary U, the encoding is a real product state, so
<Z_w> = |U psi(x)|^2 . signs, one real GEMM. Gradients still flow back to the input angles through it (Grad-CAM
needs them); only the circuit's own parameters get none, which training never asks of eval mode.
`tests/models/test_quantum.py` checks both routes against an independent numpy state-vector simulation and
`tests/models/test_fused_circuit.py` the fused route's values and gradients against TorchQuantum.

TorchQuantum is imported where its circuit is first run (`tq()`), not with this module: its import pulls in
torchvision, qiskit and matplotlib, about as long as torch's own import, and a served model never runs it (eval
mode takes the unitary route, built by the fused code). The angles live in `Angle` modules laid out as TorchQuantum's
RX / RY (a (1, 1) `params` each, initialised uniformly in [-pi, pi)), so the checkpoints' keys are unchanged, and
the gate-by-gate path hands them to TorchQuantum's gate functions as its RX / RY modules do.
"""

from __future__ import annotations

import math
import operator
import warnings
from typing import NamedTuple

import torch
from torch import nn

from qnn_core.models import fused_circuit as fused
from qnn_core.models.circuit_plan import CircuitPlan, plan_for
from qnn_core.tasks import CIRCUIT_PATHS


def tq():
    """TorchQuantum and its gate functions, imported on first use (seconds: see the module's docstring)."""
    with warnings.catch_warnings():  # TorchQuantum's qiskit plugins warn about deprecations at import time
        warnings.simplefilter("ignore")
        import torchquantum
        import torchquantum.functional

    return torchquantum, torchquantum.functional


class Angle(nn.Module):
    """One trainable rotation angle, stored as TorchQuantum's RX / RY store theirs (same state_dict key)."""

    def __init__(self) -> None:
        super().__init__()
        self.params = nn.Parameter(torch.empty(1, 1))
        nn.init.uniform_(self.params, -math.pi, math.pi)


# How training evaluates the circuit: TorchQuantum gate by gate, or the fused layers (same values and gradients).
_VERSION = operator.attrgetter("_version")  # a tensor's in-place modification counter


class _UnitaryCache(NamedTuple):
    """The eval shortcut for one set of parameter values: U, and what the readout multiplies by."""

    params: list[torch.Tensor]  # the very Parameter objects it was built from ...
    versions: list[int]  # ... and their in-place version counters then
    path: str
    u: torch.Tensor  # (2^n, 2^n) complex, last ring included
    w: torch.Tensor  # (2^(n+1), 2^n) real [Re; Im] of U before the last ring (its permutation is in z2)
    z2: torch.Tensor  # (2^(n+1), n) signs of <Z> after the ring, for the re and the im rows


class QuantumLayer(nn.Module):
    """n-qubit circuit: RY(angle_i) on wire i, then `depth` x [RX, RY on every wire + CNOT ring]."""

    def __init__(self, n_qubits: int = 8, depth: int = 3, circuit_path: str = "fused", entangle: bool = True) -> None:
        super().__init__()
        if not 2 <= n_qubits <= 12:
            raise ValueError(f"n_qubits must be in 2..12, got {n_qubits}")
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.n_qubits = n_qubits
        self.depth = depth
        self.entangle = entangle  # False: the ablation's control without entangling power (no CNOT ring)
        self.circuit_path = circuit_path
        self.rx = nn.ModuleList(Angle() for _ in range(n_qubits * depth))
        self.ry = nn.ModuleList(Angle() for _ in range(n_qubits * depth))
        # Sign of Z on wire w for basis state k; TorchQuantum puts wire 0 in the most significant bit.
        k = torch.arange(2**n_qubits)
        bits = (k[:, None] >> torch.arange(n_qubits - 1, -1, -1)[None, :]) & 1
        self.register_buffer("_z_signs", (1 - 2 * bits).float(), persistent=False)
        self._unitary_cache: _UnitaryCache | None = None
        self._plans: dict[torch.device, CircuitPlan] = {}
        # load_state_dict(assign=True) puts new Parameter objects in; the cache check would see them anyway,
        # this drops the stale U at once rather than holding it until the next call.
        self.register_load_state_dict_post_hook(_forget_after_load)

    @property
    def circuit_path(self) -> str:
        """'fused' (default) or 'tq': how training mode evaluates the circuit; settable on a built layer."""
        return self._circuit_path

    @circuit_path.setter
    def circuit_path(self, value: str) -> None:
        if value not in CIRCUIT_PATHS:
            raise ValueError(f"circuit_path must be one of {', '.join(map(repr, CIRCUIT_PATHS))}, got {value!r}.")
        self._circuit_path = value

    def ring(self) -> list[tuple[int, int]]:
        """The entangling pairs, in the order applied (none when built with entangle=False)."""
        n = self.n_qubits
        if not self.entangle:
            return []
        return [(w, (w + 1) % n) for w in range(n)] if n > 2 else [(0, 1)]

    def trainable_layers(self, qdev) -> None:
        """The trainable layers on a tq.QuantumDevice, gate by gate."""
        _, tqf = tq()
        for layer in range(self.depth):
            for w in range(self.n_qubits):
                tqf.rx(qdev, wires=w, params=self.rx[layer * self.n_qubits + w].params)
                tqf.ry(qdev, wires=w, params=self.ry[layer * self.n_qubits + w].params)
            for a, b in self.ring():
                tqf.cnot(qdev, wires=[a, b])

    def circuit_parameters(self) -> list[torch.Tensor]:
        """The tq modules' angles: every RX (layer-major), then every RY. Read from the modules on each call (not
        kept), so a replaced module or a load_state_dict(assign=True) is always seen; `_parameters` directly,
        because nn.Module.__getattr__ would cost ~1 us per parameter on the single-image path."""
        return [m._parameters["params"] for m in self.rx._modules.values()] + [
            m._parameters["params"] for m in self.ry._modules.values()
        ]

    def theta(self) -> torch.Tensor:
        """(2, depth, n) RX and RY angles, differentiable back to each tq parameter."""
        return torch.cat(self.circuit_parameters()).reshape(2, self.depth, self.n_qubits)

    def plan(self, device: torch.device) -> CircuitPlan:
        """The fused circuit's index tensors on `device` (built once per device)."""
        plan = self._plans.get(device)
        if plan is None:
            plan = self._plans[device] = plan_for(self.n_qubits, tuple(self.ring()), device)
        return plan

    def forward(self, angles: torch.Tensor) -> torch.Tensor:
        """angles: (batch, n_qubits) -> (batch, n_qubits) expectation values in [-1, 1]."""
        if angles.shape[-1] != self.n_qubits:
            raise ValueError(f"expected {self.n_qubits} angles, got {angles.shape[-1]}")
        if not self.training:
            return self.forward_unitary(angles)
        if self._circuit_path == "tq":
            return self.forward_circuit(angles)
        return self.forward_fused(angles)

    def forward_circuit(self, angles: torch.Tensor) -> torch.Tensor:
        """Gate by gate in TorchQuantum, one QuantumDevice for the whole batch."""
        tqm, tqf = tq()
        qdev = tqm.QuantumDevice(n_wires=self.n_qubits, bsz=angles.shape[0], device=angles.device)
        angles = angles.float()
        for w in range(self.n_qubits):  # the RY encoding, as tq.GeneralEncoder applies it
            tqf.ry(qdev, wires=w, params=angles[:, [w]])
        self.trainable_layers(qdev)
        return tqm.measurement.expval(qdev, list(range(self.n_qubits)), [tqm.PauliZ()] * self.n_qubits).float()

    def forward_fused(self, angles: torch.Tensor) -> torch.Tensor:
        """The same circuit layer by layer (fused_circuit.py): exact, differentiable in angles and parameters."""
        return fused.expvals(self.plan(angles.device), self.theta(), angles.float())

    def layer_unitary(self) -> torch.Tensor:
        """The trainable layers as one matrix (column j = U e_j), cached until a parameter changes."""
        return self._unitary().u

    def forget_unitary(self) -> None:
        self._unitary_cache = None

    def _apply(self, fn, recurse: bool = True):
        # .to() / .cuda() / .double() swap the parameters' data without bumping their version: drop the cache.
        self.forget_unitary()
        self._plans = {}
        return super()._apply(fn, recurse)

    def _unitary(self) -> _UnitaryCache:
        params = self.circuit_parameters()
        c = self._unitary_cache
        # The same Parameter objects, none changed in place since: ~10 us for the 48 of the shipped circuit.
        if (
            c is not None
            and c.path == self._circuit_path
            and len(c.params) == len(params)
            and all(map(operator.is_, params, c.params))
            and list(map(_VERSION, params)) == c.versions
        ):
            return c
        plan = self.plan(params[0].device)
        with torch.no_grad():
            if self._circuit_path == "tq":
                u = self.tq_unitary()
                before_ring = u.index_select(0, plan.ring_map)  # undo the last ring: row k of U' is row f(k) of U
            else:
                before_ring = fused.unitary_before_ring(plan, fused.gate_matrices(self.theta()))
                u = fused.ring(plan, before_ring)
            w = fused.realified(before_ring).contiguous()
        self._unitary_cache = _UnitaryCache(
            params, list(map(_VERSION, params)), self._circuit_path, u, w, plan.z2_after_ring.to(w.dtype)
        )
        return self._unitary_cache

    def tq_unitary(self) -> torch.Tensor:
        """U built by running TorchQuantum on every basis state (the reference construction)."""
        dim = 2**self.n_qubits
        device = self._z_signs.device
        with torch.no_grad():
            qdev = tq()[0].QuantumDevice(n_wires=self.n_qubits, bsz=dim, device=device)
            basis = torch.eye(dim, dtype=torch.complex64, device=device)
            qdev.set_states(basis.reshape([dim] + [2] * self.n_qubits))
            self.trainable_layers(qdev)
            return qdev.get_states_1d().T.contiguous()  # column j = U e_j

    def product_state(self, angles: torch.Tensor) -> torch.Tensor:
        """RY(angle_w)|0> on every wire, as a (batch, 2^n) real vector (wire 0 most significant)."""
        return fused.encoded_state(self.plan(angles.device), angles.float()).T.contiguous()

    def forward_unitary(self, angles: torch.Tensor) -> torch.Tensor:
        """Exact fast path for inference: |U psi(x)|^2 weighted by the Z signs, one real GEMM (differentiable in x)."""
        c = self._unitary()
        if angles.dtype != c.w.dtype:  # a no-op .to() still costs a few us on the single-image path
            angles = angles.to(c.w.dtype)
        return fused.readout(c.w, c.z2, fused.encoded_state(self.plan(angles.device), angles))

    def extra_repr(self) -> str:
        return (
            f"n_qubits={self.n_qubits}, depth={self.depth}, encoding=RY, entangler={'CNOT ring' if self.entangle else 'none'}, readout=<Z>, "
            f"circuit_path={self._circuit_path}"
        )


def _forget_after_load(layer: QuantumLayer, _incompatible_keys) -> None:
    """A module-level function, not a lambda: a module's hooks are pickled with it."""
    layer.forget_unitary()


def bounded_angles(x: torch.Tensor) -> torch.Tensor:
    """Map any real feature to an angle in (-pi, pi) so the encoding never wraps around."""
    return math.pi * torch.tanh(x)
