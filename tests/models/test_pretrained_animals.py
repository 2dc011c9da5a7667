"""The animals task: pretrained backbone, feature cache, photo preprocessing, checkpoint, CLIs, Grad-CAM."""

import io
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch
from helpers import ROOT
from PIL import Image

from qnn_core.inference.predict import Predictor
from qnn_core.models import trunk_cache as features
from qnn_core.models.backbones import (
    EFFICIENTNET_LITE0_SHA256,
    efficientnet_lite0,
    efficientnet_lite0_weights_path,
    timm_key,
)
from qnn_core.models.checkpoint import CheckpointError, load_checkpoint
from qnn_core.preprocess.image import ImageInputError, prepare
from qnn_core.tasks import get_task

TASK = get_task("animals")
CHELSEA = ROOT / "assets" / "animals" / "chelsea.jpg"
COFFEE = ROOT / "assets" / "animals" / "coffee.jpg"


@pytest.fixture(scope="module")
def predictor():
    return Predictor("animals")


def _jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=92, **kw)
    return buf.getvalue()


def test_cifar_animals_splits():
    from qnn_core.data.loaders import load_split
    from qnn_core.data.split import train_val_indices

    test = load_split(TASK, "test")
    assert test.images.shape == (6000, 32, 32, 3) and test.images.dtype == np.uint8
    assert np.bincount(test.labels).tolist() == [1000] * 6
    tr, va = train_val_indices(30000, 0, TASK.val_size)
    assert len(va) == TASK.val_size and not set(tr) & set(va)


def test_backbone_weights_come_from_the_installed_package():
    import hashlib

    path = efficientnet_lite0_weights_path()
    assert "site-packages" in str(path) and "shared" not in path.parts
    assert hashlib.sha256(path.read_bytes()).hexdigest() == EFFICIENTNET_LITE0_SHA256


def test_key_mapping_covers_every_timm_key_exactly():
    import timm

    state = torch.load(efficientnet_lite0_weights_path(), map_location="cpu", weights_only=True)
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    block_index = [(s, i) for s, stage in enumerate(model.blocks) for i in range(len(stage))]
    mapped = {timm_key(k, block_index) for k in state}
    assert mapped == set(model.state_dict())  # no missing, no unexpected keys
    assert timm_key("_blocks.0._depthwise_conv.weight", block_index) == "blocks.0.0.conv_dw.weight"
    assert timm_key("_blocks.15._project_conv.weight", block_index) == "blocks.6.0.conv_pwl.weight"
    assert timm_key("_bn1.running_mean", block_index) == "bn2.running_mean"


def test_pretrained_backbone_knows_chelsea_is_a_cat():
    """ImageNet classes 281-285 are the domestic cats: the weights really are the pretrained ones."""
    model = efficientnet_lite0()
    img = Image.open(CHELSEA).convert("RGB").resize((224, 224), Image.Resampling.BICUBIC)
    x = (torch.from_numpy(np.asarray(img, np.float32) / 255.0).permute(2, 0, 1)[None] - 0.5) / 0.5
    with torch.no_grad():
        top = int(model(x).argmax())
    assert 281 <= top <= 285


class _FakeBackbone:
    """Stands in for the EfficientNet trunk: counts calls, costs nothing."""

    weights_sha256 = "a" * 64

    def __init__(self):
        self.calls = 0

    def eval(self):
        return self

    def trunk_features(self, x):
        self.calls += 1
        return x.mean(dim=(2, 3), keepdim=True)


def test_feature_cache_is_reused_and_invalidated(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    spec = replace(TASK.input, size=40)
    b = _FakeBackbone()
    first = features.trunk_features(b, images, spec, cache_dir=tmp_path, quiet=True, chunk=4)
    assert b.calls == 2 and len(list(tmp_path.glob("*.npy"))) == 2
    again = features.trunk_features(b, images, spec, cache_dir=tmp_path, quiet=True, chunk=4)
    assert b.calls == 2 and torch.equal(first, again)  # read back, not recomputed
    assert features.cached_count(b, images, spec, cache_dir=tmp_path, chunk=4) == 6
    features.trunk_features(b, images, replace(spec, size=48), cache_dir=tmp_path, quiet=True, chunk=4)
    assert b.calls == 4  # preprocessing changed
    features.trunk_features(b, images, replace(spec, mean=(0.4,) * 3), cache_dir=tmp_path, quiet=True, chunk=4)
    assert b.calls == 6
    b.weights_sha256 = "b" * 64
    features.trunk_features(b, images, spec, cache_dir=tmp_path, quiet=True, chunk=4)
    assert b.calls == 8  # backbone weights changed
    images2 = images.copy()
    images2[5, 0, 0, 0] ^= 1
    features.trunk_features(b, images2, spec, cache_dir=tmp_path, quiet=True, chunk=4)
    assert b.calls == 9  # only the chunk with the changed image
    b.cut = 5
    features.trunk_features(b, images2, spec, cache_dir=tmp_path, quiet=True, chunk=4)
    assert b.calls == 11  # the trunk is cut elsewhere


@pytest.mark.parametrize("tuned_stages", [1, 2])
def test_trunk_and_tail_compose_to_the_pretrained_network(tuned_stages):
    """Wherever the frozen trunk is cut, trunk + tail are the whole pretrained feature extractor."""
    from qnn_core.models.backbones import EfficientNetLite0Features

    b = EfficientNetLite0Features(tuned_stages=tuned_stages).eval()
    assert b.cut == 7 - tuned_stages and len(b.tail) == tuned_stages + 2
    reference = efficientnet_lite0()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        want = reference.forward_head(reference.forward_features(x), pre_logits=True)
        got = b(x)
    assert torch.allclose(got, want, atol=0.05, rtol=0.02)  # float16 rounding at the cut
    assert not any(p.requires_grad for p in b.trunk.parameters())
    assert all(p.requires_grad for p in b.tail.parameters())


def test_crop_flip_views_are_seeded_crops_of_the_padded_image():
    from qnn_core.training.features import crop_flip

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    a, again = crop_flip(images, np.random.default_rng(1)), crop_flip(images, np.random.default_rng(1))
    assert a.shape == images.shape and a.dtype == np.uint8 and np.array_equal(a, again)
    assert not np.array_equal(a, crop_flip(images, np.random.default_rng(2)))
    padded = np.pad(images, ((0, 0), (4, 4), (4, 4), (0, 0)), mode="reflect")
    for img, view in zip(padded, a):
        crops = [img[y : y + 32, x : x + 32] for y in range(9) for x in range(9)]
        assert any(np.array_equal(view, c) or np.array_equal(view, c[:, ::-1]) for c in crops)


def test_checkpoint_is_small_and_rebuilds_the_frozen_trunk():
    for quantum in (True, False):
        path = TASK.checkpoint(quantum)
        assert path.stat().st_size < 12 * 2**20  # the tuned stages and heads only (stages 5-6: about 11 MB)
        payload = torch.load(path, map_location="cpu", weights_only=True)
        assert not any(k.startswith("backbone.trunk.") for k in payload["state_dict"])
        assert any(k.startswith("backbone.tail.") for k in payload["state_dict"])
        assert payload["meta"]["backbone_sha256"] == EFFICIENTNET_LITE0_SHA256
        assert 0 < payload["meta"]["unsure_below"] < 1


def test_checkpoint_for_other_backbone_weights_is_refused(tmp_path):
    payload = torch.load(TASK.checkpoint(True), map_location="cpu", weights_only=True)
    payload["meta"]["backbone_sha256"] = "0" * 64
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="backbone weights"):
        load_checkpoint(tmp_path / "other.pt")


@pytest.mark.parametrize(
    "change, message",
    [({"input": {"size": TASK.input.size + 64}}, "px input"), ({"task": "mnist"}, "trained for task 'mnist'")],
)
@pytest.mark.slow
def test_checkpoint_for_another_input_size_or_task_is_refused(tmp_path, change, message):
    payload = torch.load(TASK.checkpoint(True), map_location="cpu", weights_only=True)
    payload["meta"].update(change)
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=message):
        Predictor(TASK, tmp_path / "other.pt")
    r = _cli("qnn_core", "evaluate", "--task", "animals", "--checkpoint", str(tmp_path / "other.pt"), "--limit", "10")
    assert r.returncode == 2 and message.split()[-1] in r.stderr and "Traceback" not in r.stderr


def test_predict_on_a_real_photo_and_its_variants(predictor):
    upright = Image.open(CHELSEA).convert("RGB")
    base = predictor.predict(CHELSEA)
    assert base.label == "cat"
    assert base.prepared.tensor.shape == (1, 3, TASK.input.size, TASK.input.size)

    cmyk = predictor.predict(_jpeg(upright.convert("CMYK")))
    assert cmyk.prepared.image.mode == "RGB" and cmyk.label == "cat"

    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": store the photo turned the other way
    rotated = predictor.predict(_jpeg(upright.transpose(Image.Transpose.ROTATE_90), exif=exif))
    assert rotated.prepared.image.size == upright.size
    assert rotated.label == "cat"
    assert np.abs(rotated.prepared.pixels - base.prepared.pixels).mean() < 0.03

    buf = io.BytesIO()
    upright.convert("L").save(buf, format="PNG")
    grey = predictor.predict(buf.getvalue())
    px = grey.prepared.pixels
    assert px.shape[-1] == 3 and np.allclose(px[..., 0], px[..., 1]) and np.allclose(px[..., 1], px[..., 2])
    assert np.isclose(grey.probs.sum(), 1.0, atol=1e-5)


def test_photo_preprocessing_options_differ_as_described():
    from qnn_core.preprocess.image import prepare_photo

    match = prepare_photo(CHELSEA, TASK.input, "match").pixels
    full = prepare_photo(CHELSEA, TASK.input, "full").pixels
    assert match.shape == full.shape == (TASK.input.size, TASK.input.size, 3)
    detail = lambda a: np.abs(np.diff(a, axis=1)).mean()  # noqa: E731
    assert detail(full) > 1.5 * detail(match)  # the 32 px shrink blurs like the training images


def test_bad_photos_get_clear_errors():
    with pytest.raises(ImageInputError, match="not an image"):
        prepare(b"hello, not a photo", TASK)
    bomb = io.BytesIO()
    Image.new("L", (9000, 9000)).save(bomb, format="PNG")
    with pytest.raises(ImageInputError, match="too large"):
        prepare(bomb.getvalue(), TASK)


def test_gradcam_has_the_photos_size(predictor):
    from qnn_core.inference.explain import gradcam, overlay

    pred = predictor.predict(CHELSEA)
    heat = gradcam(predictor.model, pred.prepared, pred.index)
    assert heat.shape == (TASK.input.size, TASK.input.size) and heat.max() > 0
    shown = overlay(pred.prepared, heat, image_weight=0.5)
    assert shown.size == Image.open(CHELSEA).size == pred.prepared.image.size


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_predict_cli_on_photos_and_a_bad_file(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    r = _cli("qnn_core", "predict", "--task", "animals", str(CHELSEA), str(bad))
    assert r.returncode == 1
    line = json.loads(r.stdout.splitlines()[0])
    assert line["label"] == "cat" and len(line["top"]) == 3
    assert "notes.jpg" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_evaluate_cli_on_a_few_test_images():
    r = _cli("qnn_core", "evaluate", "--task", "animals", "--json", "--limit", "100")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["n"] == 100 and result["accuracy"] > 0.6 and "accuracy_quantum_off" in result


@pytest.mark.slow
def test_training_on_cached_features_runs_and_saves_a_loadable_checkpoint(tmp_path):
    from qnn_core.training.train import TrainConfig, train

    out = tmp_path / "tiny_animals.pt"
    meta = train(
        TrainConfig(task="animals", epochs=1, subset=64, batch_size=32, max_batches=2, threads=1), out, quiet=True
    )
    assert meta["train_size"] == 64 and meta["val_size"] == 200 and "unsure_below" in meta
    model, meta = load_checkpoint(out)
    assert model.config.backbone == "efficientnet_lite0" and model.config.tuned_stages == TASK.tuned_stages
    assert meta["train_config"]["views"] == TASK.photo_views


def test_imagenet_head_tells_a_cat_from_a_cup_of_coffee(predictor):
    from qnn_core.inference.ood import photo_animal_share

    below = predictor.meta["animal_share_below"]
    assert 0 < below < 1
    assert photo_animal_share(predictor.model, prepare(CHELSEA, TASK)) > below
    assert photo_animal_share(predictor.model, prepare(COFFEE, TASK)) < below


@pytest.mark.slow
def test_resnet18_option_with_a_users_local_weights_file(tmp_path):
    """The registry's resnet18 choice: the user's weights file, frozen; checkpoints keep only the heads."""
    from torchvision.models import resnet18

    from qnn_core.models.checkpoint import save_checkpoint
    from qnn_core.models.hybrid import HybridNet, ModelConfig

    weights = tmp_path / "resnet18.pth"
    torch.save(resnet18(weights=None).state_dict(), weights)  # stands in for a user's ImageNet file
    model = HybridNet(ModelConfig(in_channels=3, num_classes=6, backbone="resnet18", backbone_weights=str(weights)))
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 6)
    assert not any(p.requires_grad for p in model.backbone.parameters())
    save_checkpoint(model, {"task": "animals"}, tmp_path / "r18.pt")
    stored = torch.load(tmp_path / "r18.pt", map_location="cpu", weights_only=True)["state_dict"]
    assert stored and not any(k.startswith("backbone.") for k in stored)
    loaded, _ = load_checkpoint(tmp_path / "r18.pt")
    assert torch.equal(loaded.head.weight, model.head.weight)

    from qnn_core.training.train import parse_args, train

    cfg, _ = parse_args(
        [
            "--task",
            "animals",
            "--resnet18-weights",
            str(weights),
            "--epochs",
            "1",
            "--subset",
            "64",
            "--max-batches",
            "1",
            "--batch-size",
            "32",
            "--threads",
            "1",
        ]
    )
    meta = train(cfg, tmp_path / "r18_trained.pt", quiet=True)
    assert meta["config"]["backbone"] == "resnet18" and meta["train_config"]["freeze_backbone"]
    assert load_checkpoint(tmp_path / "r18_trained.pt")[0].config.backbone_weights == str(weights)
