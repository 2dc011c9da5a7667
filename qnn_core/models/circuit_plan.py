"""The integer bookkeeping of the fused circuit: which amplitude goes where, computed once per circuit shape.

Everything here depends only on the number of qubits and the CNOT ring, never on parameters or inputs, so it
is built once (per device) and shared by every call: the ring as one index permutation of the 2^n amplitudes,
the <Z> signs seen through that permutation, how the wires are cut into chunks for the Kronecker-structured
gate layers, and the gather indices that build product states and chunk matrices without a loop over qubits.
Basis index k holds wire 0 in its most significant bit, as in TorchQuantum.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

# A chunk of at most this many wires is one 2^k x 2^k matrix per layer. Measured on CPU with 1 thread (n = 5..12,
# depth 3 and 6, batch 256): 16x16 matrices keep the GEMMs efficient; bigger ones multiply the flops
# (2^k per amplitude) faster than they save kernel launches, smaller ones cost more launches than they save.
MAX_CHUNK_WIRES = 4


def chunk_sizes(n_qubits: int) -> tuple[int, ...]:
    """As few chunks of <= MAX_CHUNK_WIRES wires as possible, balanced, larger first: 8 -> (4, 4), 10 -> (4, 3, 3)."""
    count = -(-n_qubits // MAX_CHUNK_WIRES)
    base, extra = divmod(n_qubits, count)
    return tuple(base + 1 if i < extra else base for i in range(count))


def ring_permutation(n_qubits: int, ring: tuple[tuple[int, int], ...]) -> torch.Tensor:
    """f with CNOT-ring |k> = |f[k]>: the CNOTs applied in order, as one map of basis indices."""
    f = torch.arange(2**n_qubits)
    for control, target in ring:
        f = f ^ (((f >> (n_qubits - 1 - control)) & 1) << (n_qubits - 1 - target))
    return f


def _bits(values: torch.Tensor, width: int) -> torch.Tensor:
    """(len(values), width) 0/1 tensor, most significant bit first."""
    return (values[:, None] >> torch.arange(width - 1, -1, -1)) & 1


def _state_index(sizes: tuple[int, ...]) -> list[torch.Tensor]:
    """Per chunk, (2^k * k,) indices into the (2n,) table [wire0: |0>, |1>, wire1: ...] of one-qubit amplitudes."""
    out, first = [], 0
    for k in sizes:
        wires = torch.arange(first, first + k)
        out.append((2 * wires + _bits(torch.arange(2**k), k)).reshape(-1))
        first += k
    return out


def _gate_index(sizes: tuple[int, ...]) -> list[torch.Tensor]:
    """Per chunk, (4^k * k,) indices into the (4n,) table of 2x2 gate entries: entry (r, c) of the chunk's
    Kronecker product is the product over its wires w of M_w[r_w, c_w]."""
    out, first = [], 0
    for k in sizes:
        rows = _bits(torch.arange(2**k), k)[:, None, :]
        cols = _bits(torch.arange(2**k), k)[None, :, :]
        wires = torch.arange(first, first + k)
        out.append((4 * wires + 2 * rows + cols).reshape(-1))
        first += k
    return out


@dataclass(frozen=True)
class CircuitPlan:
    """Index tensors for one circuit shape on one device (see the module docstring)."""

    n_qubits: int
    chunks: tuple[int, ...]
    ring_map: torch.Tensor  # (2^n,) f: the ring sends |k> to |f[k]>
    ring_gather: torch.Tensor  # (2^n,) f^-1: (ring psi)[j] = psi[f^-1[j]]
    z_after_ring: torch.Tensor  # (2^n, n) float: sign of Z_w on ring|k>, so the last ring folds into the readout
    z2_after_ring: torch.Tensor  # (2^(n+1), n): z_after_ring twice, for [Re; Im] amplitudes in one GEMM
    z_strings: torch.Tensor  # (n, n) bool: Z_w after the ring = product of Z_v over z_strings[w, v] (CNOTs are XORs)
    state_index: tuple[torch.Tensor, ...]  # per chunk, see _state_index
    encoding_phase: torch.Tensor  # (2^n, n, 1) float: -pi/2 * bit_w(k), as cos(x/2 - pi/2) = sin(x/2)
    half: torch.Tensor  # 0.5 as a 0-dim tensor: a Python scalar operand costs a tensor wrap on every call
    gate_index: tuple[torch.Tensor, ...]  # per chunk, see _gate_index

    @property
    def dim(self) -> int:
        return 2**self.n_qubits


@lru_cache(maxsize=64)
def plan_for(n_qubits: int, ring: tuple[tuple[int, int], ...], device: torch.device) -> CircuitPlan:
    """The plan for n qubits and this ring, built on the CPU once and copied to `device` once."""
    f = ring_permutation(n_qubits, ring)
    inverse = torch.empty_like(f)
    inverse[f] = torch.arange(f.numel())
    z_signs = (1 - 2 * _bits(torch.arange(2**n_qubits), n_qubits)).float()
    units = 1 << torch.arange(n_qubits - 1, -1, -1)  # |e_v>: only wire v set
    z_strings = _bits(f[units], n_qubits).T.bool()  # bit w of f(e_v), i.e. [w, v]
    sizes = chunk_sizes(n_qubits)

    def to(t: torch.Tensor) -> torch.Tensor:
        return t.to(device)

    return CircuitPlan(
        n_qubits=n_qubits,
        chunks=sizes,
        ring_map=to(f),
        ring_gather=to(inverse),
        z_after_ring=to(z_signs[f].contiguous()),
        z2_after_ring=to(torch.cat([z_signs[f]] * 2)),
        z_strings=to(z_strings),
        state_index=tuple(to(i) for i in _state_index(sizes)),
        encoding_phase=to(-torch.pi / 2 * _bits(torch.arange(2**n_qubits), n_qubits)[..., None].float()),
        half=to(torch.tensor(0.5)),
        gate_index=tuple(to(i) for i in _gate_index(sizes)),
    )
