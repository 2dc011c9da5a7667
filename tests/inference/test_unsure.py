"""The "I'm not sure" scores against plain numpy, the rule's round trip through a checkpoint, and the verdict
that the Predictor, the service and the CLIs give with it."""

import json

import numpy as np
import pytest

from qnn_core.data import scribbles
from qnn_core.evaluation.unsure_calibration import auroc
from qnn_core.inference.predict import Predictor
from qnn_core.inference.unsure import Gaussian, UnsureRule, outlier_scores
from qnn_core.models.checkpoint import load_checkpoint, save_checkpoint
from qnn_core.service.verdict import verdict
from qnn_core.tasks import get_task


def test_scores_agree_with_numpy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(7, 4)) * 3
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(outlier_scores("msp", logits), 1 - probs.max(1), atol=1e-12)
    np.testing.assert_allclose(outlier_scores("energy", logits), -np.log(np.exp(logits).sum(1)), atol=1e-12)
    features, labels = rng.normal(size=(200, 5)), rng.integers(0, 4, 200)
    g = Gaussian.fit(features, labels, 4)
    np.testing.assert_allclose(g.means, [features[labels == c].mean(0) for c in range(4)], atol=1e-6)
    x = rng.normal(size=(3, 5))
    want = [min(float((f - m) @ g.precision @ (f - m)) for m in g.means) for f in x]
    np.testing.assert_allclose(outlier_scores("mahalanobis", logits[:3], x, g), want, rtol=1e-4)
    with pytest.raises(ValueError, match="needs the backbone's features"):
        outlier_scores("mahalanobis", logits)
    with pytest.raises(ValueError, match="score must be one of"):
        outlier_scores("entropy", logits)


def test_auroc_is_the_share_of_pairs_a_negative_wins():
    rng = np.random.default_rng(1)
    pos, neg = rng.normal(size=40), rng.normal(1, 1, size=30).round(1)
    pairs = np.mean([(n > p) + 0.5 * (n == p) for p in pos for n in neg])
    assert auroc(pos, neg) == pytest.approx(pairs)


def test_rule_round_trips_through_meta():
    rng = np.random.default_rng(2)
    g = Gaussian.fit(rng.normal(size=(50, 3)), rng.integers(0, 2, 50), 2)
    rule = UnsureRule("mahalanobis", 4.5, g, 0.02)
    back = UnsureRule.from_meta({"unsure": json.loads(json.dumps(rule.to_meta()))})
    assert back.score == "mahalanobis" and back.threshold == 4.5 and back.flags_share == 0.02
    np.testing.assert_array_equal(back.gaussian.precision, g.precision)
    assert UnsureRule.from_meta({}) is None


def test_scribbles_are_seeded_inked_and_new_per_seed():
    task = get_task("letters")
    a, b = scribbles.render("scribble", 12, task, seed=1), scribbles.render("scribble", 12, task, seed=1)
    assert a.shape == (12, 28, 28) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, scribbles.render("scribble", 12, task, seed=2))
    blank = scribbles.render("near-blank", 6, task, seed=1)
    assert (a.reshape(12, -1).max(1) > 0).all() and (blank.reshape(6, -1).max(1) > 0).all()
    with pytest.raises(ValueError, match="kind must be one of"):
        scribbles.render("doodle", 1, task, seed=0)


@pytest.fixture
def calibrated(tiny_checkpoint, tmp_path):
    """The tiny checkpoint with a rule that flags everything (energy above -inf) and one that flags nothing."""
    model, meta = load_checkpoint(tiny_checkpoint)
    always, never = tmp_path / "always.pt", tmp_path / "never.pt"
    save_checkpoint(model, {**meta, "unsure": UnsureRule("energy", -np.inf).to_meta()}, always)
    save_checkpoint(model, {**meta, "unsure": UnsureRule("energy", np.inf).to_meta()}, never)
    return always, never


def test_predictor_and_verdict_follow_the_checkpoints_rule(calibrated):
    from helpers import draw_digit_one

    always, never = (Predictor("mnist", p) for p in calibrated)
    sure, unsure = never.predict(draw_digit_one()), always.predict(draw_digit_one())
    assert not sure.unsure and unsure.unsure
    assert unsure.features.shape == (128,) and unsure.logits.shape == (10,)
    said = verdict(always, unsure)
    assert said.unsure and said.headline == "This doesn't look like a digit"
    assert said.message.startswith("This doesn't look like a digit: the network's evidence")
    assert verdict(never, sure).message == ""


def test_predict_cli_json_carries_the_verdict(calibrated, tmp_path, capsys):
    from helpers import draw_digit_one

    from qnn_core.cli.predict import main

    image = tmp_path / "one.png"
    draw_digit_one().save(image)
    for path, unsure in zip(calibrated, (True, False)):
        assert main(["--task", "mnist", "--checkpoint", str(path), str(image), "--device", "cpu"]) == 0
        out = json.loads(capsys.readouterr().out.strip())
        assert out["unsure"] is unsure and out["unsure_reason"].startswith("This doesn't look" if unsure else "")


def test_the_sequence_reader_folds_unsure_into_low_confidence(calibrated):
    from PIL import Image, ImageDraw

    from qnn_core.sequence.read import to_json
    from qnn_core.sequence.reader import read_line

    img = Image.new("L", (300, 100), 255)
    d = ImageDraw.Draw(img)
    for x in (40, 140, 240):
        d.line([(x, 20), (x, 80)], fill=0, width=12)
    reading = read_line(Predictor("mnist", calibrated[0]), img, dictionary=False)
    assert reading.chars and all(c.unsure and c.low_confidence for c in reading.chars)
    out = to_json(reading)
    assert out["unsure"] and "look like a digit" in out["unsure_reason"] and all(c["unsure"] for c in out["chars"])
    assert to_json(read_line(Predictor("mnist", calibrated[1]), img, dictionary=False))["unsure"] is False
