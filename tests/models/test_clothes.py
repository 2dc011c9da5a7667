"""The clothes task: real garment photos read from their zip, a tiny model trained on them, predicted, refused."""

import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from helpers import ROOT
from PIL import Image

from qnn_core.data.loaders import DataNotFoundError, has_split, load_train_val
from qnn_core.tasks import get_task

TASK = get_task("clothes")
ZIP = TASK.data.default_root / TASK.data.train[0]
needs_data = pytest.mark.skipif(not ZIP.is_file(), reason="clothing-photos data set not here")


def _tiny_zip(folder, per_class: int = 2) -> None:
    """A copy of the data set's layout with `per_class` real photos of each class in each split."""
    with zipfile.ZipFile(ZIP) as src, zipfile.ZipFile(folder / TASK.data.train[0], "w") as dst:
        for split in ("train", "validation"):
            for cls in TASK.classes:
                names = sorted(n for n in src.namelist() if n.startswith(f"{split}/{cls}/"))[:per_class]
                for n in names:
                    dst.writestr(n, src.read(n))


def test_registry_entry_names_the_datas_folders_and_a_photo_input():
    assert TASK.classes == (
        "dress",
        "hat",
        "longsleeve",
        "outwear",
        "pants",
        "shirt",
        "shoes",
        "shorts",
        "skirt",
        "t-shirt",
    )
    assert TASK.input.kind == "photo" and TASK.input.photo_resize == "full" and TASK.input.native == 0
    assert TASK.backbone == "efficientnet_lite0" and TASK.imagenet_check == "garment"
    assert TASK.models == ("hybrid", "classical")


@needs_data
@pytest.mark.slow
def test_validation_is_the_data_sets_own_and_photos_are_stretched_like_served_ones():
    from qnn_core.preprocess.image import prepare_photo

    train, val = load_train_val(TASK)
    assert len(train) == 3068 and len(val) == 341  # PROVENANCE.md's counts
    assert np.bincount(val.labels).tolist() == [32, 14, 49, 24, 49, 29, 26, 25, 12, 81]
    assert val.images.shape[1:] == (TASK.input.size, TASK.input.size, 3) and val.images.dtype == np.uint8
    with zipfile.ZipFile(ZIP) as z:
        first = sorted(n for n in z.namelist() if n.startswith("validation/"))[0]
        served = prepare_photo(z.read(first), TASK.input).pixels
    assert np.abs(served * 255 - val.images[0]).max() <= 1  # the pixels a served photo gets
    assert not has_split(TASK, "test")  # the source's test split is kept apart


def test_a_zip_with_other_folders_or_no_photos_is_refused_in_one_line(tmp_path):
    with zipfile.ZipFile(tmp_path / TASK.data.train[0], "w") as z:
        buf = io.BytesIO()
        Image.new("RGB", (40, 50), "red").save(buf, format="JPEG")
        z.writestr("train/socks/0.jpg", buf.getvalue())
    with pytest.raises(ValueError, match="socks"):
        load_train_val(TASK, tmp_path)
    with zipfile.ZipFile(tmp_path / TASK.data.train[0], "w") as z:
        z.writestr("readme.txt", "nothing")
    with pytest.raises(DataNotFoundError, match="train/<class>"):
        load_train_val(TASK, tmp_path)


@needs_data
@pytest.mark.slow
def test_a_tiny_model_trains_predicts_and_refuses_bad_input(tmp_path):
    from qnn_core.inference.predict import Predictor
    from qnn_core.models.checkpoint import load_checkpoint
    from qnn_core.training.train import TrainConfig, train

    _tiny_zip(tmp_path)
    out = tmp_path / "tiny_clothes.pt"
    meta = train(
        TrainConfig(task="clothes", epochs=1, batch_size=10, views=1, threads=1, data_root=str(tmp_path)),
        out,
        quiet=True,
    )
    assert meta["train_size"] == 20 and meta["val_size"] == 20 and "unsure_below" in meta
    assert "test_accuracy" not in meta  # no test split here: nothing measured, nothing invented
    model, _ = load_checkpoint(out)
    assert model.config.backbone == "efficientnet_lite0" and out.stat().st_size < 25 * 2**20

    photo = tmp_path / "shoe.jpg"
    with zipfile.ZipFile(tmp_path / TASK.data.train[0]) as z:
        photo.write_bytes(z.read(sorted(n for n in z.namelist() if n.startswith("validation/shoes/"))[0]))
    pred = Predictor(TASK, out).predict(photo)
    assert pred.label in TASK.classes and np.isclose(pred.probs.sum(), 1.0, atol=1e-5)

    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "qnn_core",
            "predict",
            "--task",
            "clothes",
            "--checkpoint",
            str(out),
            str(photo),
            str(bad),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr and "notes.jpg" in r.stderr
    line = json.loads(r.stdout.splitlines()[0])
    assert line["label"] in TASK.classes and line["looks_like"] is None and isinstance(line["unsure"], bool)


def _sample(prefix: str) -> bytes:
    from qnn_core.evaluation.photo_negatives import SAMPLES

    with zipfile.ZipFile(SAMPLES) as z:
        (name,) = [n for n in z.namelist() if n.startswith(prefix)]
        return z.read(name)


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).convert("RGB").resize((280, 280)).save(buf, format="PNG")
    return buf.getvalue()


@needs_data
@pytest.mark.skipif(not TASK.checkpoint(True).is_file(), reason="clothes not trained")
@pytest.mark.slow
def test_the_shipped_model_names_a_garment_and_says_not_a_garment_to_the_rest():
    from qnn_core.data.loaders import load_split
    from qnn_core.evaluation.photo_negatives import SAMPLES
    from qnn_core.inference.predict import Predictor
    from qnn_core.service.verdict import verdict

    predictor = Predictor("clothes")
    assert predictor.meta.get("garment_share_below") is not None, "run: qnn ood --task clothes"
    with zipfile.ZipFile(ZIP) as z:
        shoe = z.read(sorted(n for n in z.namelist() if n.startswith("validation/shoes/"))[0])
    pred = predictor.predict(shoe)
    said = verdict(predictor, pred)
    assert pred.label == "shoes" and not said.unsure and said.looks_like is None

    negatives = [_png(load_split(get_task("animals"), "test").images[0])]  # a CIFAR animal photo
    negatives.append(_png(255 - load_split(get_task("mnist"), "test").images[0]))  # a drawing, dark on white
    if SAMPLES.is_file():  # a coffee mug, a sports car and a pizza (ImageNet's: a test, never a measurement)
        negatives += [_sample(prefix) for prefix in ("504_", "817_", "963_")]
    for data in negatives:
        said = verdict(predictor, predictor.predict(data))
        assert said.unsure and said.headline == "This doesn't look like a garment"
