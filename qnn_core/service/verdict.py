"""The "I'm not sure" verdict that rides along with every classification, on every task.

A handwriting model's rule (inference/unsure.py: a score and its threshold) is calibrated on validation data
against other tasks' images and scribbles (evaluation/unsure_calibration.py); a photo model has top probability
and the backbone's own ImageNet head (evaluation/ood_calibration.py): for animals "any animal at all?" and "another
animal than the six?" (which names it: "This looks like a cow"), for clothes "a garment at all?". All live in the
checkpoint's metadata and are folded into one verdict here; a model without them never says it is unsure.
"""

from __future__ import annotations

from dataclasses import dataclass

from qnn_core.inference.imagenet_groups import garment_share
from qnn_core.inference.ood import IMAGENET_ANIMALS, looks_like, photo_imagenet_probs
from qnn_core.inference.predict import Prediction, Predictor


@dataclass(frozen=True)
class Verdict:
    unsure: bool
    reasons: tuple[str, ...] = ()
    noun: str = "a character"  # the task's (tasks.py), for the headline
    # Another animal than the task's classes, by its plain name ("cow"); the headline then says so.
    looks_like: str | None = None
    known: int = 0  # how many classes the task knows, for that headline

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
        """ "This doesn't look like a digit", "This looks like a cow, which is not one of the six animals this
        model knows", or "" when the model is sure."""
        if self.looks_like:
            return (
                f"This looks like {article(self.looks_like)} {self.looks_like}, which is not one of the "
                f"{NUMBERS.get(self.known, str(self.known))} {PLURAL.get(self.noun, 'classes')} this model knows"
            )
        return f"This doesn't look like {self.noun}" if self.unsure else ""


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


NUMBERS = {6: "six", 10: "ten"}


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
    share_below, other_above = meta.get("animal_share_below"), meta.get("other_animal_above")
    garment_below = meta.get("garment_share_below")
    imagenet = (
        photo_imagenet_probs(predictor.model, prediction.prepared)
        if any(v is not None for v in (share_below, other_above, garment_below))
        else None
    )
    if share_below is not None:
        share = float(imagenet[IMAGENET_ANIMALS].sum())
        if share < share_below:
            reasons.append(
                f"the backbone's own ImageNet classifier gives “any animal” only {share:.0%} "
                f"(below {share_below:.0%}, which about 5% of validation images fall under)"
            )
    other = looks_like(imagenet, other_above) if other_above is not None else None
    if other is not None:
        reasons.append(
            f"the backbone's own ImageNet classifier sees {article(other)} {other} rather than any of the "
            f"{NUMBERS.get(predictor.task.num_classes, predictor.task.num_classes)}, so the answer “{prediction.label}” is unreliable"
        )
    if garment_below is not None:
        share = float(garment_share(imagenet[None])[0])
        if share < garment_below:
            reasons.append(
                f"the backbone's own ImageNet classifier gives its garment, shoe and hat classes only {share:.1%} "
                f"(below {garment_below:.1%}; together with the top-probability check this flags at most 5% of "
                "validation garments)"
            )
    return Verdict(bool(reasons), tuple(reasons), noun, other, predictor.task.num_classes)
