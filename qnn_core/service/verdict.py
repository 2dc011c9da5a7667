"""The "I'm not sure" verdict that rides along with every classification, on every task.

A handwriting model's rule (inference/unsure.py: a score and its threshold) is calibrated on validation data
against other tasks' images and scribbles (evaluation/unsure_calibration.py); a photo model has its two checks,
top probability and the backbone's own "any animal" share (evaluation/ood_calibration.py). Both live in the
checkpoint's metadata and are folded into one verdict here; a model without them never says it is unsure.
"""

from __future__ import annotations

from dataclasses import dataclass

from qnn_core.inference.ood import photo_animal_share
from qnn_core.inference.predict import Prediction, Predictor


@dataclass(frozen=True)
class Verdict:
    unsure: bool
    reasons: tuple[str, ...] = ()
    noun: str = "a character"  # the task's (tasks.py), for the headline

    @property
    def reason(self) -> str:
        """The reasons as one sentence, capitalised, or "" when the model is sure."""
        text = " and ".join(self.reasons)
        return f"{text[0].upper()}{text[1:]}." if text else ""

    @property
    def message(self) -> str:
        """Headline and reason together, as the CLIs' `unsure_reason` gives them; "" when the model is sure."""
        return f"{self.headline}: {self.reason[0].lower()}{self.reason[1:]}" if self.unsure else ""

    @property
    def headline(self) -> str:
        """ "This doesn't look like a digit", or "" when the model is sure."""
        return f"This doesn't look like {self.noun}" if self.unsure else ""


# Why the calibrated score finds an input unusual, per score (inference/unsure.py), in a user's words.
SCORE_WORDS = {
    "mahalanobis": "what the network sees in it lies further from all the {things} it learned than for all but {share} "
    "of the validation {things}",
    "msp": "its top probability is lower than for all but {share} of the validation {things}",
    "energy": "the network's evidence for any class is weaker than for all but {share} of the validation {things}",
}
PLURAL = {"a digit": "digits", "a garment": "garments", "a kana": "kana", "a letter": "letters", "an animal": "animals"}


def verdict(predictor: Predictor, prediction: Prediction) -> Verdict:
    """The verdict on one of `predictor`'s predictions: its checkpoint's rule and thresholds, its task's noun."""
    meta, rule, noun = predictor.meta, predictor.unsure_rule, predictor.task.noun
    reasons = []
    if prediction.unsure and rule is not None:
        things = PLURAL.get(noun, noun.split(" ", 1)[-1] + "s")
        reasons.append(SCORE_WORDS[rule.score].format(things=things, share=f"{rule.flags_share:.0%}"))
    threshold = meta.get("unsure_below")
    if threshold is not None and prediction.top[0][1] < threshold:
        reasons.append(
            f"the top probability is below {threshold:.0%}, which only about 5% of correctly classified "
            "validation images fall under"
        )
    share_below = meta.get("animal_share_below")
    if share_below is not None:
        share = photo_animal_share(predictor.model, prediction.prepared)
        if share < share_below:
            reasons.append(
                f"the backbone's own ImageNet classifier gives “any animal” only {share:.0%} "
                f"(below {share_below:.0%}, which about 5% of validation images fall under)"
            )
    return Verdict(bool(reasons), tuple(reasons), noun)
