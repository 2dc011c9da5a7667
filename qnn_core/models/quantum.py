"""The variational quantum block: angle encoding -> trainable layers -> <Z> readout.

TorchQuantum is the definition of the circuit and is what training runs through.
Because the trainable part does not depend on the input, inference (eval mode)
can use an exact shortcut: the trainable layers form one 2^n x 2^n unitary U,
the encoding is a product state, so <Z_w> = |psi(x) U^T|^2 . signs. Gradients
still flow back to the input angles through it (Grad-CAM needs them); only the
circuit's own parameters get none, which training never asks of eval mode.
`tests/models/test_quantum.py` checks the shortcut against TorchQuantum and both
against an independent numpy state-vector simulation.
"""
from __future__ import annotations

import math
import warnings

import torch
from torch import nn

with warnings.catch_warnings():  # TorchQuantum's qiskit plugins warn about deprecations at import time
    warnings.simplefilter("ignore")
    import torchquantum as tq
    import torchquantum.functional as tqf


class QuantumLayer(tq.QuantumModule):
    """n-qubit circuit: RY(angle_i) on wire i, then `depth` x [RX, RY on every wire + CNOT ring]."""

    def __init__(self, n_qubits: int = 8, depth: int = 3) -> None:
        super().__init__()
        if not 2 <= n_qubits <= 12:
            raise ValueError(f"n_qubits must be in 2..12, got {n_qubits}")
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.n_qubits = n_qubits
        self.depth = depth
        self.encoder = tq.GeneralEncoder(
            [{"input_idx": [w], "func": "ry", "wires": [w]} for w in range(n_qubits)]
        )
        self.rx = nn.ModuleList(tq.RX(has_params=True, trainable=True) for _ in range(n_qubits * depth))
        self.ry = nn.ModuleList(tq.RY(has_params=True, trainable=True) for _ in range(n_qubits * depth))
        self.measure = tq.MeasureAll(tq.PauliZ)
        # Sign of Z on wire w for basis state k; TorchQuantum puts wire 0 in the most significant bit.
        k = torch.arange(2**n_qubits)
        bits = (k[:, None] >> torch.arange(n_qubits - 1, -1, -1)[None, :]) & 1
        self.register_buffer("_z_signs", (1 - 2 * bits).float(), persistent=False)
        self._unitary_cache: tuple[tuple, torch.Tensor] | None = None

    def ring(self) -> list[tuple[int, int]]:
        """The entangling pairs, in the order applied."""
        n = self.n_qubits
        return [(w, (w + 1) % n) for w in range(n)] if n > 2 else [(0, 1)]

    def trainable_layers(self, qdev: tq.QuantumDevice) -> None:
        for layer in range(self.depth):
            for w in range(self.n_qubits):
                self.rx[layer * self.n_qubits + w](qdev, wires=w)
                self.ry[layer * self.n_qubits + w](qdev, wires=w)
            for a, b in self.ring():
                tqf.cnot(qdev, wires=[a, b])

    def forward(self, angles: torch.Tensor) -> torch.Tensor:
        """angles: (batch, n_qubits) -> (batch, n_qubits) expectation values in [-1, 1]."""
        if angles.shape[-1] != self.n_qubits:
            raise ValueError(f"expected {self.n_qubits} angles, got {angles.shape[-1]}")
        if not self.training:
            return self.forward_unitary(angles)
        return self.forward_circuit(angles)

    def forward_circuit(self, angles: torch.Tensor) -> torch.Tensor:
        """Gate by gate in TorchQuantum, one QuantumDevice for the whole batch."""
        qdev = tq.QuantumDevice(n_wires=self.n_qubits, bsz=angles.shape[0], device=angles.device)
        self.encoder(qdev, angles.float())
        self.trainable_layers(qdev)
        return self.measure(qdev).float()

    def layer_unitary(self) -> torch.Tensor:
        """The trainable layers as one matrix, built by running TorchQuantum on every basis state."""
        params = [p for p in self.parameters()]
        key = tuple((p.data_ptr(), p._version) for p in params)
        if self._unitary_cache is not None and self._unitary_cache[0] == key:
            return self._unitary_cache[1]
        dim = 2**self.n_qubits
        with torch.no_grad():
            qdev = tq.QuantumDevice(n_wires=self.n_qubits, bsz=dim, device=self._z_signs.device)
            basis = torch.eye(dim, dtype=torch.complex64, device=self._z_signs.device)
            qdev.set_states(basis.reshape([dim] + [2] * self.n_qubits))
            self.trainable_layers(qdev)
            u = qdev.get_states_1d().T.contiguous()  # column j = U e_j
        self._unitary_cache = (key, u)
        return u

    def product_state(self, angles: torch.Tensor) -> torch.Tensor:
        """RY(angle_w)|0> on every wire, as a (batch, 2^n) real vector (wire 0 most significant)."""
        half = angles.float() / 2
        psi = torch.ones(angles.shape[0], 1, device=angles.device)
        for w in range(self.n_qubits):
            qubit = torch.stack([torch.cos(half[:, w]), torch.sin(half[:, w])], dim=1)
            psi = (psi[:, :, None] * qubit[:, None, :]).reshape(angles.shape[0], -1)
        return psi

    def forward_unitary(self, angles: torch.Tensor) -> torch.Tensor:
        """Exact fast path for inference: psi(x) U^T, then |.|^2 weighted by the Z signs (differentiable in x)."""
        u = self.layer_unitary()
        amplitudes = self.product_state(angles).to(u.dtype) @ u.T
        return (amplitudes.abs() ** 2) @ self._z_signs

    def extra_repr(self) -> str:
        return f"n_qubits={self.n_qubits}, depth={self.depth}, encoding=RY, entangler=CNOT ring, readout=<Z>"


def bounded_angles(x: torch.Tensor) -> torch.Tensor:
    """Map any real feature to an angle in (-pi, pi) so the encoding never wraps around."""
    return math.pi * torch.tanh(x)
