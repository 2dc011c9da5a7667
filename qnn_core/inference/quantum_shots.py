"""<Z> as hardware gives it: estimated from a finite number of measurements ("shots") of the register.

A real device never returns <Z>: each shot measures every qubit at once and yields one bitstring k with
probability P(k), the basis-state distribution at the end of the circuit, and <Z_w> is estimated as the mean
of z_w(k) over the shots. Whole bitstrings are drawn (a multinomial over the 2^n states), not each qubit on its
own: the per-qubit means would be the same, but the qubits' correlations, which move the head's input
together, would be lost. The error of each estimate shrinks as 1/sqrt(shots).

Sampling takes a numpy Generator, which a caller makes from its seed for each call: the same seed gives the
same estimates whichever thread asks, and threads never share one generator's state.
"""

from __future__ import annotations

import numpy as np

SHOT_CHOICES = (0, 1000, 100, 10)  # what the quantum view offers; 0 = the exact expectation values


def normalised(probs: np.ndarray) -> np.ndarray:
    """float64 rows that sum to 1 (the float32 circuit leaves ~1e-7 over or under, which multinomial refuses)."""
    p = np.clip(np.asarray(probs, dtype=np.float64), 0.0, None)
    return p / p.sum(-1, keepdims=True)


def sample_expvals(
    probs: np.ndarray, z_signs: np.ndarray, shots: int, rng: np.random.Generator, resamples: int | None = None
) -> np.ndarray:
    """<Z> estimated from `shots` bitstrings drawn from each row of probs (..., 2^n).

    Returns (..., n), or (resamples, ..., n) with `resamples`: that many independent runs of `shots` each.
    """
    if shots < 1:
        raise ValueError(f"shots must be at least 1, got {shots}")
    p = normalised(probs)
    size = p.shape[:-1] if resamples is None else (resamples, *p.shape[:-1])
    counts = rng.multinomial(shots, p, size=size)  # (..., 2^n) how often each bitstring came up
    return counts @ z_signs / shots
