"""One trainer: a flag a run cannot honour is a one-line usage error before any work; the others are honoured
on both pipelines; the caller's config is never changed."""

import copy
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import ROOT

from qnn_core.data.split import Split
from qnn_core.inference.batch import accuracy
from qnn_core.jobs.params import JobParams
from qnn_core.models import trunk_cache
from qnn_core.models.checkpoint import load_checkpoint
from qnn_core.tasks import TASKS, get_task
from qnn_core.training import cli, pipeline
from qnn_core.training.config import ConfigError, TrainConfig
from qnn_core.training.plan import plan
from qnn_core.training.train import main, parse_args, train

SHIPPED_ANIMALS = str(ROOT / "checkpoints" / "animals_hybrid.pt")

REFUSED = [  # (arguments, what the one line says)
    (["--task", "animals", "--mix", "real"], "--mix does not apply to animals"),
    (["--task", "animals", "--source", "emnist"], "--source does not apply to animals"),
    (["--task", "animals", "--swa", "--download"], "--download does not apply to animals"),
    (["--task", "animals", "--augment", "garment"], "--augment cannot apply to animals"),
    (["--task", "animals", "--init", SHIPPED_ANIMALS, "--blocks", "1,2,2"], "--blocks is for the resnet backbone"),
    (["--task", "animals", "--preact"], "--preact is for the resnet backbone"),
    (["--task", "mnist", "--model", "bottleneck", "--preact"], "--preact comes from the shipped hybrid"),
    (
        ["--task", "mnist", "--init", str(ROOT / "checkpoints" / "mnist_hybrid.pt"), "--preact"],
        "it has preact False, this run asks for True (--preact)",
    ),
    (["--task", "animals", "--tuned-stages", "7"], "--tuned-stages wants 1 to 6"),
    (
        ["--task", "animals", "--resnet18-weights", "w.pth", "--tuned-stages", "2"],
        "--tuned-stages is for the efficientnet",
    ),
    (
        ["--task", "animals", "--model", "classical", "--init", SHIPPED_ANIMALS],
        "it is a hybrid model, this run trains a classical one",
    ),
    (["--task", "animals", "--cutmix", "0.5"], "--cutmix cannot apply to animals: it trains on cached activations"),
    (["--task", "mnist", "--model", "bottleneck", "--cutmix", "0.5"], "--cutmix cannot apply to a bottleneck model"),
    (["--task", "mnist", "--cutmix", "1.5"], "--cutmix is the share of images mixed, 0 to 1, not 1.5"),
    (["--task", "mnist", "--views", "2"], "--views is for cached features"),
    (["--task", "mnist", "--freeze-backbone"], "--freeze-backbone is for pretrained backbones"),
    (["--task", "mnist", "--tuned-stages", "2"], "--tuned-stages is for the efficientnet_lite0 backbone"),
    (["--task", "mnist", "--resnet18-weights", "w.pth"], "--resnet18-weights is for photo tasks"),
    (["--task", "mnist", "--mix", "real"], "--mix does not apply to mnist"),
    (["--task", "mnist", "--source", "emnist"], "--source does not apply to mnist"),
    (["--task", "mnist", "--checkpoint", "x.pt"], "use --init PATH"),
    (["--task", "mnist", "--init", "missing.pt"], "--init: checkpoint not found"),
    (
        ["--task", "mnist", "--init", str(ROOT / "checkpoints" / "kmnist_hybrid.pt"), "--blocks", "1,1,1"],
        "it has blocks [1, 2, 2], this run asks for [1, 1, 1] (--blocks)",
    ),
    (["--task", "letters", "--download"], "--download does not apply to letters"),
    (["--task", "letters", "--source", "emnist", "--mix", "real"], "--mix does not apply to letters --source emnist"),
    (["--task", "letters", "--source", "nope"], "letters has no such data set; one of emnist"),
    (["--task", "nope"], "invalid choice: 'nope'"),
    (["--task", "mnist", "--device", "gpu"], "Device must be one of auto, cpu, cuda, cuda:N, mps"),
    (["--task", "mnist", "--model", "classical", "--circuit-path", "tq"], "a classical model has no circuit"),
    *(
        []
        if torch.cuda.is_available()
        else [
            (["--task", "mnist", "--device", "cuda"], "--device cuda: torch sees no CUDA GPU"),
            (["--task", "mnist", "--amp", "bf16"], "--amp bf16 is mixed precision for CUDA; this run is on cpu"),
        ]
    ),
]


@pytest.mark.parametrize("argv, says", REFUSED, ids=[" ".join(a[1:]).replace(str(ROOT) + "/", "") for a, _ in REFUSED])
def test_a_flag_the_run_cannot_honour_is_a_one_line_usage_error_before_any_work(
    argv, says, capsys, monkeypatch, tmp_path
):
    def never(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(cli, "run", never)
    monkeypatch.setattr(pipeline, "load_train_val", never)
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--out", str(tmp_path / "never.pt")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.count("\n") == 1 and err.startswith("qnn train: error: ") and says in err, err
    assert not (tmp_path / "never.pt").exists()


@pytest.mark.slow
def test_the_command_refuses_a_data_source_the_task_lacks_without_a_traceback(tmp_path):
    """`train --task animals --source emnist` used to end in a KeyError traceback."""
    out = tmp_path / "never.pt"
    r = subprocess.run(
        [sys.executable, "-m", "qnn_core", "train", "--task", "animals", "--source", "emnist", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 2 and r.stdout == "" and not out.exists()
    assert r.stderr.count("\n") == 1 and "--source does not apply to animals" in r.stderr, r.stderr


def test_train_refuses_a_config_it_cannot_honour_before_reading_data(monkeypatch, tmp_path):
    def never(*args, **kwargs):
        raise AssertionError("data read")

    monkeypatch.setattr(pipeline, "load_train_val", never)
    for cfg in (
        TrainConfig(task="animals", mix="real"),
        TrainConfig(task="animals", augment="garment+erase"),
        TrainConfig(task="fashion", views=3),
        TrainConfig(task="kmnist", model={"tuned_stages": 3}),
    ):
        with pytest.raises(ConfigError):
            train(cfg, tmp_path / "never.pt", quiet=True)


def test_model_flag_and_the_removed_old_spelling(capsys):
    cfg, out = parse_args(["--task", "mnist", "--model", "classical"])
    assert not cfg.quantum and out.name == "mnist_classical.pt" and capsys.readouterr().err == ""
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--task", "mnist", "--no-quantum"])
    assert exit_.value.code == 2 and "unrecognized arguments: --no-quantum" in capsys.readouterr().err


def test_every_training_job_config_is_one_the_trainer_accepts():
    for task in TASKS:
        for subset in (3000, None):
            assert plan(JobParams(task=task, subset=subset).train_config()).task.name == task


@pytest.mark.slow
def test_cached_features_honour_init_and_swa_and_leave_the_config_alone(tmp_path, monkeypatch):
    """From the shipped animals hybrid at lr 0: every epoch's weights, and so their SWA average, are the starting
    ones; the average gets BatchNorm statistics of its own; whichever is kept, --init was the one to beat.
    A few random photos stand in for the data set (decoding all 30,000 would dominate the test's time)."""
    rng = np.random.default_rng(0)
    photos = Split(rng.integers(0, 256, (56, 32, 32, 3), dtype=np.uint8), rng.integers(0, 6, 56))
    train_split, val_split = photos.subset(slice(0, 32)), photos.subset(slice(32, 56))
    monkeypatch.setattr(pipeline, "load_train_val", lambda *args: (train_split, val_split))
    monkeypatch.setattr(trunk_cache, "CACHE_DIR", tmp_path / "features")
    cfg = TrainConfig(
        task="animals",
        epochs=2,
        subset=32,
        batch_size=16,
        max_batches=1,
        views=1,
        lr=0.0,
        swa=True,
        init=SHIPPED_ANIMALS,
        threads=1,
    )
    asked = copy.deepcopy(cfg)
    out = tmp_path / "animals.pt"
    meta = train(cfg, out, quiet=True)
    assert cfg == asked and cfg.model == {}  # the run's completed copy is not the caller's
    start, _ = load_checkpoint(SHIPPED_ANIMALS)
    assert meta["init_val_accuracy"] == accuracy(start, get_task("animals"), val_split)  # as served, mirror averaged
    assert meta["init_meta"]["epochs"] == 6 and meta["val_accuracy"] >= meta["init_val_accuracy"]
    assert meta["swa"]["averaged_epochs"] == 2 and len(meta["history"]) == 2
    assert meta["swa"]["best_single_val_acc"] >= meta["init_val_accuracy"]
    if meta["best_epoch"] == "swa":
        assert meta["val_accuracy"] == meta["swa"]["val_acc"]
    assert meta["train_config"]["swa"] and meta["train_config"]["init"] == SHIPPED_ANIMALS
    assert meta["train_config"]["views"] == 1 and meta["train_size"] == 32 and "unsure_below" in meta
    kept, _ = load_checkpoint(out)
    assert kept.config == start.config
    start_params = dict(start.named_parameters())
    for name, p in kept.named_parameters():
        assert torch.equal(p, start_params[name]), name
    if meta["best_epoch"] == "swa":  # the average's BatchNorm statistics were recomputed on the training views
        start_buffers = dict(start.named_buffers())
        assert any(not torch.equal(b, start_buffers[n]) for n, b in kept.named_buffers() if "running_mean" in n)


@pytest.mark.parametrize("path", ["tq", "fused"])
def test_circuit_path_chooses_how_training_simulates_the_circuit(path):
    from qnn_core.training.loop import build_model

    cfg, _ = parse_args(["--task", "mnist", "--circuit-path", path])
    assert build_model(get_task("mnist"), cfg).quantum.circuit_path == path
    assert cfg.record()["circuit_path"] == path  # the card says which path trained it


def test_cutmix_trains_on_soft_targets_and_the_card_says_so(tmp_path):
    """A pixel run with every image CutMixed: the loss takes the area-weighted targets, the record keeps the
    share, and the card's reproduce line repeats the flag."""
    from qnn_core.evaluation.report import augment_text, extra_train_flags

    meta = train(
        TrainConfig(task="fashion", epochs=1, subset=256, max_batches=2, cutmix=1.0, threads=1),
        tmp_path / "cutmix.pt",
        quiet=True,
    )
    assert meta["train_config"]["cutmix"] == 1.0 and 0.0 <= meta["history"][0]["train_acc"] <= 1.0
    assert np.isfinite(meta["history"][0]["loss"])
    assert " --cutmix 1" in extra_train_flags(meta)
    assert "CutMix on 100% of the images" in augment_text(get_task("fashion"), meta["train_config"])
