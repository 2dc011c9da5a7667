"""ImageNet's animal classes grouped into the six and the rest, and the rules read off the backbone's head."""

import io
import zipfile

import numpy as np
import pytest
from helpers import ROOT

from qnn_core.inference.imagenet_groups import (
    ANIMAL_CLASSES,
    GARMENT_CLASSES,
    GROUP_NAMES,
    OTHERS,
    SIX,
    animal_groups,
    garment_share,
    group_probs,
    other_animal,
)
from qnn_core.inference.ood import calibrate_garment, calibrate_other_animal, looks_like
from qnn_core.tasks import SHARED_DATA, get_task

SAMPLES = SHARED_DATA / "imagenet-samples" / "imagenet_samples_1000_short256.zip"
needs_samples = pytest.mark.skipif(not SAMPLES.is_file(), reason="imagenet-samples not here")


def one_hot(*pairs: tuple[int, float]) -> np.ndarray:
    """An ImageNet distribution with the given (class, probability) pairs, the rest spread over class 999."""
    p = np.zeros(1000, np.float32)
    for k, v in pairs:
        p[k] = v
    p[999] += 1.0 - p.sum()
    return p


def test_every_imagenet_animal_class_is_in_exactly_one_group():
    indices = [i for idx in animal_groups().values() for i in idx]
    assert sorted(indices) == list(range(ANIMAL_CLASSES))  # all 398, none twice
    assert tuple(SIX) == get_task("animals").classes  # the six groups are the task's classes, in its order
    assert not set(SIX) & set(OTHERS) and len(GROUP_NAMES) == len(set(GROUP_NAMES))
    assert all(k >= ANIMAL_CLASSES for k in GARMENT_CLASSES) and len(set(GARMENT_CLASSES)) == len(GARMENT_CLASSES)


def test_the_groups_match_imagenets_synset_names():
    """A spot check of the table against timm's offline class names (the issue's examples)."""
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    name_of = {info.index_to_description(i).split(",")[0]: i for i in range(1000)}
    groups = animal_groups()
    expected = {
        "tabby": "cat",
        "tiger cat": "cat",
        "Persian cat": "cat",
        "ox": "cow",
        "grey whale": "whale",
        "killer whale": "whale",
        "admiral": "butterfly",
        "monarch": "butterfly",
        "sorrel": "horse",
        "golden retriever": "dog",
        "bullfrog": "frog",
        "goldfinch": "bird",
        "impala": "deer",
        "chimpanzee": "chimpanzee",
        "gorilla": "gorilla",
        "brown bear": "bear",
    }
    for synset, group in expected.items():
        assert name_of[synset] in groups[group], synset
    for k in (610, 474, 841, 869, 655, 608, 770, 774, 514, 808):  # jersey ... sombrero, the list
        assert k in GARMENT_CLASSES, info.index_to_description(k)


def test_the_rule_on_fixed_distributions():
    ox, tabby, killer_whale, sorrel = 345, 281, 148, 339
    assert looks_like(one_hot((ox, 0.9)), 0.5) == "cow"
    assert looks_like(one_hot((killer_whale, 0.3), (147, 0.3)), 0.5) == "whale"  # summed over its group
    assert looks_like(one_hot((tabby, 0.9)), 0.5) is None  # one of the six
    assert looks_like(one_hot((ox, 0.4)), 0.5) is None  # not sure enough
    # the likeliest other animal must beat every one of the six, summed per group
    assert looks_like(one_hot((ox, 0.55), (sorrel, 0.3), (340, 0.1)), 0.5) == "cow"
    assert looks_like(one_hot((ox, 0.4), (151, 0.3), (152, 0.3)), 0.3) is None  # dogs together beat the ox
    g = group_probs(one_hot((ox, 0.9))[None])
    assert g.shape == (1, len(GROUP_NAMES)) and g[0, GROUP_NAMES.index("cow")] == pytest.approx(0.9)


def test_calibration_newly_flags_at_most_its_share():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(1000, 0.05), size=400).astype(np.float32)
    already = rng.random(400) < 0.1
    rec = calibrate_other_animal(probs, already, miss_rate=0.05)
    score = other_animal(probs)[0]
    new = (score >= rec["other_animal_above"]) & ~already
    assert new.mean() <= 0.05 and rec["other_animal_new_flags_val"] == pytest.approx(new.mean(), abs=1e-4)

    garments = one_hot((610, 0.8))[None].repeat(100, 0)
    garments[:10] = one_hot((345, 0.9))  # ten look like an ox
    rec = calibrate_garment(garments, np.zeros(100, bool), miss_rate=0.05)
    assert rec["garment_flags_val"] <= 0.05
    assert garment_share(one_hot((610, 0.8))[None])[0] >= rec["garment_share_below"]


def _sample(prefix: str) -> bytes:
    with zipfile.ZipFile(SAMPLES) as z:
        (name,) = [n for n in z.namelist() if n.startswith(prefix)]
        return z.read(name)


@needs_samples
@pytest.mark.slow
def test_the_ox_photo_is_named_a_cow_and_flagged():
    """imagenet-samples' ox (a sanity check and a test, never a measurement: ImageNet trained the backbone)."""
    from qnn_core.inference.predict import Predictor
    from qnn_core.service.verdict import verdict

    predictor = Predictor("animals")
    assert predictor.meta.get("other_animal_above") is not None, "run: qnn ood --task animals"
    ox = predictor.predict(io.BytesIO(_sample("345_")))
    said = verdict(predictor, ox)
    assert said.unsure and said.looks_like == "cow"
    assert said.headline == "This looks like a cow, which is not one of the six animals this model knows"
    assert f"the answer “{ox.label}” is unreliable" in said.reason  # the six-class answer, marked
    cat = predictor.predict(ROOT / "assets" / "animals" / "chelsea.jpg")
    said = verdict(predictor, cat)
    assert cat.label == "cat" and said.looks_like is None and not said.unsure
