"""The served circuit under depolarizing noise, as a density-matrix simulation.

The channel, exactly: after every gate layer (the RY encoding, then each of the `depth` trainable layers, a
layer being RX and RY on every wire followed by the CNOT ring) every qubit w goes through the one-qubit
depolarizing channel

    D_p(rho) = (1 - p) rho + p * (I/2 (x) Tr_w rho)  =  (1 - 3p/4) rho + p/4 (X rho X + Y rho Y + Z rho Z),

i.e. with probability p that qubit is replaced by the maximally mixed state. The channels on different wires
commute, so the order of the wires does not matter. p = 0 is the exact circuit; p = 1 leaves every qubit fully
mixed and every <Z> at 0. After the last layer the channel shrinks each <Z> by exactly (1 - p); the earlier
ones are spread over the register by the CNOTs.

Two pictures of one channel: `evolve` (Schrodinger: rho through the layers, one input at a time, what the
quantum view shows, 2^n x 2^n per input) and `heisenberg` (observables backwards through the adjoint channel,
built once, then <O> = psi^T O psi for any number of encoded inputs, which is what `evaluate --noise` needs
for a whole test split). D_p is its own adjoint; a unitary layer's adjoint is O -> U^dagger O U. The tests check
that both pictures agree with each other and with a numpy simulation written out gate by gate.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from qnn_core.inference.quantum_state import Circuit

# The largest register whose noise view stays within its budget (300 ms a prediction on 2 cores, a mirrored
# pair included): a 2^n x 2^n density matrix costs 2 x depth GEMMs of (2^n)^3 per input, x8 per extra qubit.
# benchmarks/quantum_views.py measures it (section "quantum_views" of benchmarks/RESULTS.md).
NOISE_MAX_QUBITS = 8
OBSERVABLE_CHUNK = 64  # observables evolved at once in the Heisenberg picture (memory: chunk x 4^n complex)


def depolarize(rho: torch.Tensor, n: int, p: float) -> torch.Tensor:
    """D_p on every qubit of (..., 2^n, 2^n) density matrices (or observables: D_p is self-adjoint); new tensor.

    All n channels at once, in the Pauli basis where they are diagonal: the component of rho along a Pauli
    string X^x Z^z shrinks by (1 - p) per qubit it acts on, popcount(x | z) of them. The components of all
    strings with one x are a Walsh-Hadamard transform of the x-th "diagonal" rho[b, b ^ x], so: gather the
    diagonals, transform, scale, transform back, scatter. Two real GEMMs each way, no loop over the wires
    (wire by wire, 2n reshapes of a 2n-dimensional tensor cost several times more at 8 qubits).
    """
    if p == 0:
        return rho
    lead, dim = rho.shape[:-2], rho.shape[-1]
    gather, scatter, hadamard, _ = _pauli_frame(n, rho.device)
    diagonals = rho.reshape(-1, dim * dim).index_select(1, gather).reshape(-1, dim, dim)
    shrink = _shrink(n, float(p), rho.device)
    parts = [((part @ hadamard) * shrink) @ hadamard / dim for part in (diagonals.real, diagonals.imag)]
    out = torch.complex(*parts).reshape(-1, dim * dim).index_select(1, scatter)
    return out.reshape(*lead, dim, dim)


@lru_cache(maxsize=32)
def _shrink(n: int, p: float, device: torch.device) -> torch.Tensor:
    """(1 - p)^popcount(x | z): how much D_p on every qubit keeps of each Pauli string's component."""
    return (1 - p) ** _pauli_frame(n, device)[3]


@lru_cache(maxsize=8)
def _pauli_frame(n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """For n qubits: where rho[b, b ^ x] sits (gather, as row x, column b), its inverse (scatter), the
    Walsh-Hadamard matrix H[b, z] = (-1)^popcount(b & z), and popcount(x | z), the weight of the string X^x Z^z."""
    dim = 2**n
    b = torch.arange(dim, device=device)
    gather = (b[None, :] * dim + (b[None, :] ^ b[:, None])).reshape(-1)
    scatter = torch.empty_like(gather)
    scatter[gather] = torch.arange(dim * dim, device=device)

    def popcount(t: torch.Tensor) -> torch.Tensor:
        return sum((t >> i) & 1 for i in range(n))

    hadamard = (1 - 2 * (popcount(b[:, None] & b[None, :]) % 2)).float()
    return gather, scatter, hadamard, popcount(b[:, None] | b[None, :]).float()


def evolve(circuit: Circuit, encoded: torch.Tensor, p: float) -> torch.Tensor:
    """(views, 2^n) encoded states -> (views, 2^n, 2^n) density matrices at the end of the noisy circuit."""
    psi = encoded.to(torch.complex64)
    rho = depolarize(psi[:, :, None] * psi.conj()[:, None, :], circuit.n_qubits, p)  # after the encoding layer
    for u in circuit.layer_unitaries():
        rho = depolarize(u @ rho @ u.conj().T, circuit.n_qubits, p)
    return rho


def expvals_of(rho: torch.Tensor, circuit: Circuit) -> torch.Tensor:
    """<Z_w> of (views, 2^n, 2^n) density matrices, as (views, n) float64: the diagonal is the distribution."""
    diag = rho.diagonal(dim1=-2, dim2=-1).real.double()
    return diag @ torch.from_numpy(circuit.z_signs)


def heisenberg(circuit: Circuit, observables: torch.Tensor, p: float) -> torch.Tensor:
    """(m, 2^n, 2^n) observables measured at the end -> their real part pulled back through the whole noisy
    circuit (the noise after the encoding included), as (m, 2^n, 2^n) float32: <O>_noisy = psi^T result psi for
    the pure encoded state psi, which is real (the imaginary part of a Hermitian matrix is antisymmetric and adds
    nothing on a real vector)."""
    layers = circuit.layer_unitaries()
    out = []
    for chunk in observables.split(OBSERVABLE_CHUNK):
        o = chunk.to(torch.complex64)
        for u in reversed(layers):
            o = u.conj().T @ depolarize(o, circuit.n_qubits, p) @ u
        out.append(depolarize(o, circuit.n_qubits, p).real.float())
    return torch.cat(out)


def z_observables(circuit: Circuit) -> torch.Tensor:
    """Z on each wire as a diagonal (n, 2^n, 2^n) matrix."""
    return torch.diag_embed(torch.from_numpy(circuit.z_signs.T.copy()).to(torch.complex64))


def basis_projectors(circuit: Circuit) -> torch.Tensor:
    """|k><k| for every basis state, (2^n, 2^n, 2^n): their noisy expectations are the measurement distribution."""
    return torch.diag_embed(torch.eye(circuit.dim, dtype=torch.complex64))


def quadratic(observables: torch.Tensor, encoded: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """psi^T O_m psi for (m, d, d) real observables and (B, d) real states, as (B, m), a batch at a time."""
    out = []
    for psi in encoded.float().split(batch):
        out.append(torch.einsum("bi,mij,bj->bm", psi, observables, psi))
    return torch.cat(out) if out else torch.empty(0, observables.shape[0])
