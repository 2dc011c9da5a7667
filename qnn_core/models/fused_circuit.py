"""The QuantumLayer circuit computed layer by layer instead of gate by gate: exact, differentiable, any device.

Same circuit as TorchQuantum's (RY(x_w) encoding; depth x [RX(a), RY(b) on every wire + CNOT ring]; <Z_w>),
rearranged so that the work is a few dense matrix products instead of ~3n small kernels per layer:

* each wire's RX then RY is one 2x2 matrix M = RY(b) RX(a);
* the first layer's matrices act on the encoding's product state, which stays a product state, so they cost
  nothing: the state enters the simulation after layer 1's one-qubit gates, built with one gather per chunk;
* a layer's one-qubit matrices are applied per chunk of <= 4 wires as one 2^k x 2^k Kronecker product (a GEMM
  over the whole batch), the state held as (2^n, batch) so that every chunk is a plain or batched GEMM;
* the CNOT ring is one precomputed index permutation (a gather; its backward is the inverse gather);
* the last ring is not applied at all: its permutation is folded into the <Z> signs of the readout;
* at depth 1 the state before the ring is a product state and the ring maps Z_w to a string of Z's, so
  <Z_w> is a product of one-qubit expectation values and no 2^n state is built;
* for a batch much larger than 2^n, U is built once per call (2^n columns instead of `batch` states) and
  applied to the real product states as one real GEMM.

torch.compile was measured and is not used: inductor does not generate code for complex tensors (it falls
back op by op) and the compiled step was slower than eager on CPU, after ~40 s of compilation.
`tests/models/test_fused_circuit.py` checks values and every gradient against TorchQuantum.
"""

from __future__ import annotations

import torch

from qnn_core.models.circuit_plan import CircuitPlan

# Up to this many (amplitude, wire) entries the encoding's product state is computed in one go (a handful of
# kernels, what a single image costs); above it per chunk, which needs far less memory. Measured on CPU at n = 8.
SINGLE_SHOT_MAX = 2**15


class _Permute(torch.autograd.Function):
    """Rows of x reordered by `index`; the backward is the inverse gather, not a scatter-add."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, index: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(inverse)
        return x.index_select(0, index)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (inverse,) = ctx.saved_tensors
        return grad.index_select(0, inverse), None, None


def ring(plan: CircuitPlan, psi: torch.Tensor) -> torch.Tensor:
    """The CNOT ring on (2^n, columns) amplitudes."""
    return _Permute.apply(psi, plan.ring_gather, plan.ring_map)


class _BornZ(torch.autograd.Function):
    """<Z_w> = sum_k |psi_k|^2 z[k, w] for complex (2^n, batch) psi, as (batch, n). One autograd node instead of
    view_as_real -> square -> sum -> matmul, and its backward is 2 (z g^T) psi."""

    @staticmethod
    def forward(ctx, psi: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(psi, z)
        dim, batch = psi.shape
        parts = torch.view_as_real(psi).square().reshape(dim, 2 * batch)  # re^2, im^2 side by side
        return (parts.T @ z).reshape(batch, 2, -1).sum(1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        psi, z = ctx.saved_tensors
        return psi * (z @ grad.T).mul_(2), None


def gate_matrices(theta: torch.Tensor) -> torch.Tensor:
    """theta: (2, depth, n) RX and RY angles -> (depth, n, 2, 2) complex RY(b) RX(a) (RX is applied first).

    RY(b) RX(a) = cos(a/2) RY(b) - i sin(a/2) RY(b) X: the real part is RY(b) scaled, the imaginary part RY(b)
    with its columns swapped, scaled; built from four cos/sin values without complex arithmetic."""
    half = theta * 0.5
    ca, sa = torch.cos(half[0]), torch.sin(half[0])
    cb, sb = torch.cos(half[1]), torch.sin(half[1])
    real = torch.stack([cb, -sb, sb, cb], -1) * ca[..., None]
    imag = torch.stack([sb, -cb, -cb, -sb], -1) * sa[..., None]
    return torch.complex(real, imag).reshape(*theta.shape[1:], 2, 2)


def chunk_matrices(plan: CircuitPlan, gates: torch.Tensor) -> list[torch.Tensor]:
    """(layers, n, 2, 2) -> per chunk, (layers, 2^k, 2^k): the Kronecker product of the chunk's wires, one gather
    and one product for every layer at once."""
    flat = gates.reshape(gates.shape[0], -1)
    return [
        flat.index_select(1, index).reshape(gates.shape[0], 2**k, 2**k, k).prod(-1)
        for k, index in zip(plan.chunks, plan.gate_index)
    ]


def apply_layer(plan: CircuitPlan, mats: list[torch.Tensor], layer: int, psi: torch.Tensor) -> torch.Tensor:
    """One layer's one-qubit gates on (2^n, columns) amplitudes, chunk by chunk. A chunk after the first is a
    batched GEMM over the chunks before it; the matrix is expanded explicitly (a view), because matmul would
    fold a 2-D @ 3-D product into a transposed copy of the state."""
    columns, lead = psi.shape[1], 1
    for k, mat in zip(plan.chunks, mats):
        size = 2**k
        m = mat[layer]
        if lead == 1:
            psi = torch.mm(m, psi.reshape(size, -1))
        else:
            psi = torch.bmm(m.expand(lead, size, size), psi.reshape(lead, size, -1))
        lead *= size
    return psi.reshape(-1, columns)


def encoding(angles: torch.Tensor) -> torch.Tensor:
    """RY(x_w)|0> = (cos x_w/2, sin x_w/2) per wire: (batch, n) -> (n, 2, batch), real."""
    half = angles.T * 0.5
    return torch.stack([torch.cos(half), torch.sin(half)], 1)


def product_state(plan: CircuitPlan, qubits: torch.Tensor) -> torch.Tensor:
    """(n, 2, batch) one-qubit states -> (2^n, batch) their Kronecker product (real or complex), without a loop
    over qubits: entry k is the product over wires of qubits[w, bit_w(k)], gathered per chunk, and the chunks
    joined by outer products."""
    n, _, batch = qubits.shape
    table = qubits.reshape(2 * n, batch)
    psi = None
    for k, index in zip(plan.chunks, plan.state_index):
        part = table.index_select(0, index).reshape(2**k, k, batch).prod(1)
        psi = part if psi is None else (psi[:, None, :] * part[None, :, :]).reshape(-1, batch)
    return psi


def encoded_state(plan: CircuitPlan, angles: torch.Tensor) -> torch.Tensor:
    """The encoding's product state prod_w RY(x_w)|0>, real (2^n, batch), for (batch, n) angles. A small batch
    (a single image) takes it in one shot, entry k = prod_w cos(x_w/2 - pi/2 bit_w(k)): four kernels in all."""
    phase = plan.encoding_phase
    if phase.numel() * angles.shape[0] > SINGLE_SHOT_MAX:
        return product_state(plan, encoding(angles))
    if phase.dtype != angles.dtype:
        phase = phase.to(angles.dtype)
    return torch.cos(torch.addcmul(phase, angles.T[None], plan.half)).prod(1)  # x/2 - pi/2 bit in one kernel


def builds_unitary(plan: CircuitPlan, depth: int, batch: int) -> bool:
    """Whether building U beats simulating the batch. U costs 2^n columns through the layers plus a 2^(n+1) x 2^n
    real GEMM per sample; the direct path costs each sample (depth-1) layers of sum(2^k) per amplitude.
    Measured (CPU, 1 thread, n = 4..8, depth 1..6, batch 64..1024): U wins from batch >= 4 * 2^n when the
    layers' per-amplitude work is at least 2^n / 2."""
    layer_work = (depth - 1) * sum(2**k for k in plan.chunks)
    return depth > 1 and batch >= 4 * plan.dim and layer_work >= plan.dim / 2


def expvals(plan: CircuitPlan, theta: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """<Z_w> for (batch, n) angles with circuit angles theta (2, depth, n), as (batch, n); differentiable in both."""
    gates = gate_matrices(theta)
    angles = angles.to(theta.dtype)
    depth = theta.shape[1]
    if depth == 1:
        return expvals_depth1(plan, gates, angles)
    if builds_unitary(plan, depth, angles.shape[0]):
        return readout(
            realified(unitary_before_ring(plan, gates)),
            plan.z2_after_ring.to(angles.dtype),
            encoded_state(plan, angles),
        )
    qubits = gates[0] @ encoding(angles).to(gates.dtype)  # layer 1's gates on the product state: still a product
    psi = product_state(plan, qubits)
    mats = chunk_matrices(plan, gates[1:])
    for layer in range(depth - 1):
        psi = apply_layer(plan, mats, layer, ring(plan, psi))
    return _BornZ.apply(psi, plan.z_after_ring.to(angles.dtype))


def expvals_depth1(plan: CircuitPlan, gates: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Depth 1: <Z_w> after the ring is <prod_{v in string(w)} Z_v> on a product state = prod of the <Z_v>."""
    qubits = gates[0] @ encoding(angles).to(gates.dtype)  # (n, 2, batch)
    weights = torch.view_as_real(qubits).square().sum(-1)  # |amplitude|^2
    z = (weights[:, 0] - weights[:, 1]).T  # (batch, n)
    return torch.where(plan.z_strings, z[:, None, :], torch.ones((), dtype=z.dtype, device=z.device)).prod(-1)


def unitary_before_ring(plan: CircuitPlan, gates: torch.Tensor) -> torch.Tensor:
    """U without the last CNOT ring, (2^n, 2^n) complex: layer 1's Kronecker product built by outer products of
    its chunk matrices, then every later layer applied to its 2^n columns."""
    mats = chunk_matrices(plan, gates)
    u = mats[0][0]
    for mat in mats[1:]:
        u = (u[:, None, :, None] * mat[0][None, :, None, :]).reshape(u.shape[0] * mat.shape[1], -1)
    for layer in range(1, gates.shape[0]):
        u = apply_layer(plan, mats, layer, ring(plan, u))
    return u


def unitary(plan: CircuitPlan, theta: torch.Tensor) -> torch.Tensor:
    """The trainable layers' full unitary, last ring included (column j = U e_j)."""
    return ring(plan, unitary_before_ring(plan, gate_matrices(theta)))


def realified(u: torch.Tensor) -> torch.Tensor:
    """(2^n, 2^n) complex -> (2^(n+1), 2^n) real [Re U; Im U]: acting on a real state it gives re and im parts
    in one real GEMM (the encoding's product state is real)."""
    return torch.view_as_real(u).permute(2, 0, 1).reshape(2 * u.shape[0], u.shape[1])


def readout(w: torch.Tensor, z2: torch.Tensor, psi0: torch.Tensor) -> torch.Tensor:
    """<Z> of U psi0 for real (2^n, batch) psi0, given w = realified(U) and the signs stacked twice (2^(n+1), n),
    once for the real and once for the imaginary parts: (batch, n)."""
    return (w @ psi0).square().T @ z2
