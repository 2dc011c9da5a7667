"""The "I'm not sure / none of these?" verdict that rides along with every classification.

The thresholds are calibrated on validation data and stored in the checkpoint's metadata (see
evaluation/ood_calibration.py); a model without them simply never says it is unsure.
"""
from __future__ import annotations

from dataclasses import dataclass

from qnn_core.inference.ood import photo_animal_share
from qnn_core.inference.predict import Prediction
from qnn_core.models.hybrid import HybridNet


@dataclass(frozen=True)
class Verdict:
    unsure: bool
    reasons: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        """The reasons as one sentence, capitalised, or "" when the model is sure."""
        text = " and ".join(self.reasons)
        return f"{text[0].upper()}{text[1:]}." if text else ""


def verdict(model: HybridNet, meta: dict, prediction: Prediction) -> Verdict:
    reasons = []
    threshold = meta.get("unsure_below")
    if threshold is not None and prediction.top[0][1] < threshold:
        reasons.append(f"the top probability is below {threshold:.0%}, which only about 5% of correctly classified "
                       "validation images fall under")
    share_below = meta.get("animal_share_below")
    if share_below is not None:
        share = photo_animal_share(model, prediction.prepared)
        if share < share_below:
            reasons.append(f"the backbone's own ImageNet classifier gives “any animal” only {share:.0%} "
                           f"(below {share_below:.0%}, which about 5% of validation images fall under)")
    return Verdict(bool(reasons), tuple(reasons))
