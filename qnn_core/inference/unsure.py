"""How unusual an input is for a model: the scores behind the "I'm not sure" verdict.

A softmax must name one of its classes, so a classifier is confident about two parallel bars on the Letters
page. Three scores, each higher for a stranger input, are compared on validation data
(evaluation/unsure_calibration.py), and the better one is stored in the checkpoint with its threshold:

* `msp`: 1 - the top softmax probability (Hendrycks and Gimpel 2017);
* `energy`: -logsumexp of the logits (Liu et al. 2020), which keeps what the softmax normalises away;
* `mahalanobis`: the squared distance of the backbone's pooled features to the nearest class mean, under one
  shared covariance (Lee et al. 2018), fitted on training images: it sees how far an input is from anything
  the model learned, whatever the head makes of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCORES = ("msp", "energy", "mahalanobis")
SHRINKAGE = 0.05  # share of the mean variance added to the covariance's diagonal, so its inverse is stable


def _logsumexp(logits: np.ndarray) -> np.ndarray:
    top = logits.max(-1, keepdims=True)
    return (top + np.log(np.exp(logits - top).sum(-1, keepdims=True)))[..., 0]


@dataclass(frozen=True)
class Gaussian:
    """Class means and one shared precision matrix of backbone features."""

    means: np.ndarray  # (classes, d)
    precision: np.ndarray  # (d, d)

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray, num_classes: int) -> Gaussian:
        f = np.asarray(features, np.float64)
        means = np.stack([f[labels == c].mean(0) for c in range(num_classes)])
        centred = f - means[labels]
        cov = centred.T @ centred / len(f)
        cov += SHRINKAGE * np.trace(cov) / len(cov) * np.eye(len(cov))
        return cls(means.astype(np.float32), np.linalg.inv(cov).astype(np.float32))

    def distance(self, features: np.ndarray) -> np.ndarray:
        """(N, d) -> (N,) squared Mahalanobis distance to the nearest class mean."""
        diff = np.asarray(features, np.float32)[:, None, :] - self.means[None]  # (N, classes, d)
        return np.einsum("ncd,de,nce->nc", diff, self.precision, diff).min(1)


def outlier_scores(
    score: str, logits: np.ndarray, features: np.ndarray | None = None, gaussian: Gaussian | None = None
) -> np.ndarray:
    """(N, classes) logits as served (and (N, d) features) -> (N,) scores, higher for a stranger input."""
    logits = np.asarray(logits, np.float64)
    if score == "msp":
        z = logits - logits.max(-1, keepdims=True)
        return 1 - 1 / np.exp(z).sum(-1)  # 1 - max softmax, computed stably
    if score == "energy":
        return -_logsumexp(logits)
    if score == "mahalanobis":
        if features is None or gaussian is None:
            raise ValueError("the mahalanobis score needs the backbone's features and the fitted class Gaussian")
        return gaussian.distance(features).astype(np.float64)
    raise ValueError(f"score must be one of {', '.join(SCORES)}, got {score!r}")


@dataclass(frozen=True)
class UnsureRule:
    """The calibrated verdict of one checkpoint: its score, the threshold above which it is unsure, and what
    the score needs (the fitted Gaussian for mahalanobis). Stored in the checkpoint's meta under "unsure"."""

    score: str
    threshold: float
    gaussian: Gaussian | None = None
    flags_share: float = 0.02  # of the validation positives above the threshold: what the verdict's sentence quotes

    def scores(self, logits: np.ndarray, features: np.ndarray | None) -> np.ndarray:
        return outlier_scores(self.score, logits, features, self.gaussian)

    def is_unsure(self, logits: np.ndarray, features: np.ndarray | None) -> np.ndarray:
        return self.scores(logits, features) > self.threshold

    def to_meta(self) -> dict:
        d: dict = {"score": self.score, "threshold": float(self.threshold), "flags_share": float(self.flags_share)}
        if self.gaussian is not None:
            d["means"] = self.gaussian.means.tolist()
            d["precision"] = self.gaussian.precision.tolist()
        return d

    @classmethod
    def from_meta(cls, meta: dict) -> UnsureRule | None:
        """The rule a checkpoint's meta holds, or None (a model calibrated before there was one)."""
        d = meta.get("unsure")
        if not d:
            return None
        gaussian = None
        if "means" in d:
            gaussian = Gaussian(np.asarray(d["means"], np.float32), np.asarray(d["precision"], np.float32))
        return cls(d["score"], float(d["threshold"]), gaussian, float(d.get("flags_share", 0.02)))
