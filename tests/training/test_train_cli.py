import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT, mnist_on_canvas
from PIL import Image

from qnn_core.data.loaders import load_split
from qnn_core.models.checkpoint import load_checkpoint
from qnn_core.tasks import get_task

pytestmark = pytest.mark.slow


def run(*args):
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_tiny_training_writes_full_metadata(tiny_checkpoint):
    model, meta = load_checkpoint(tiny_checkpoint)
    for key in (
        "task",
        "classes",
        "config",
        "seed",
        "epochs",
        "train_data_sha256",
        "val_accuracy",
        "versions",
        "train_time_s",
        "history",
    ):
        assert key in meta, key
    assert meta["config"]["quantum"] and meta["config"]["n_qubits"] == 8
    assert len(meta["train_data_sha256"]) == 64


def test_train_cli_classical(tmp_path):
    """--model classical trains the twin; --train-limit counts on pixels; every epoch is in the record, whichever
    weights were kept."""
    out = tmp_path / "c.pt"
    r = run(
        "qnn_core",
        "train",
        "--task",
        "kmnist",
        "--epochs",
        "2",
        "--subset",
        "128",
        "--max-batches",
        "1",
        "--train-limit",
        "100",
        "--model",
        "classical",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["quantum"] is False
    model, meta = load_checkpoint(out)
    assert model.config.quantum is False and meta["train_size"] == 100 and meta["train_config"]["train_limit"] == 100
    assert [h["epoch"] for h in meta["history"]] == [1, 2]


def test_evaluate_cli_small_slice(tiny_checkpoint, tmp_path):
    r = run(
        "qnn_core",
        "evaluate",
        "--task",
        "mnist",
        "--checkpoint",
        str(tiny_checkpoint),
        "--limit",
        "300",
        "--json",
        "--report",
        str(tmp_path),
    )
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["n"] == 300 and 0 <= result["accuracy"] <= 1
    assert np.array(result["confusion"]).sum() == 300
    assert set(result["per_class_accuracy"]) == set("0123456789")
    assert "accuracy_quantum_off" in result
    assert (tmp_path / "mnist_hybrid_confusion.png").stat().st_size > 1000
    assert (tmp_path / "mnist_hybrid_errors.png").stat().st_size > 1000


def test_predict_cli_good_and_bad_files(tiny_checkpoint, tmp_path):
    digit = load_split(get_task("mnist"), "test").images[0]
    good = tmp_path / "digit.png"
    mnist_on_canvas(digit, "transparent").save(good)
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(blank)
    r = run(
        "qnn_core", "predict", "--task", "mnist", "--checkpoint", str(tiny_checkpoint), str(good), str(bad), str(blank)
    )
    assert r.returncode == 1
    line = json.loads(r.stdout.strip())
    assert line["file"] == str(good) and line["label"] in "0123456789" and len(line["top"]) == 3
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 2 and "Traceback" not in r.stderr
    assert "not an image" in errors[0] and "blank" in errors[1]


def test_predict_cli_missing_checkpoint(tmp_path):
    r = run("qnn_core", "predict", "--task", "mnist", "--checkpoint", str(tmp_path / "none.pt"), "x.png")
    assert r.returncode == 2 and "checkpoint not found" in r.stderr and "Traceback" not in r.stderr


def test_model_card_lists_every_run_of_a_continued_training():
    """A checkpoint trained in three runs (each --init from the last) names all three and how to repeat them."""
    from qnn_core.evaluation.report import train_commands, training_runs

    def run_meta(epochs, lr, augment=None, init=None):
        m = {"epochs": epochs, "train_config": {"lr": lr, "augment": augment, "mix": "mixed"}, "history": []}
        return {**m, "init_meta": init} if init else m

    meta = run_meta(4, 1e-3, "handwriting+elastic", run_meta(6, 1.5e-3, "handwriting+elastic", run_meta(5, 3e-3)))
    runs = training_runs(get_task("kmnist"), meta)
    assert [name for name, _ in runs] == ["run 1", "run 2", "run 3"]
    assert [m["epochs"] for _, m in runs] == [5, 6, 4]
    cmds = train_commands(get_task("kmnist"), runs, "")
    assert cmds.count("qnn train") == 3
    assert "--epochs 5 --threads 1 --out run1.pt" in cmds
    assert "--lr 0.0015 --epochs 6 --augment handwriting+elastic --threads 1 --init run1.pt --out run2.pt" in cmds
    assert cmds.endswith("--lr 0.001 --epochs 4 --augment handwriting+elastic --threads 1 --init run2.pt`")
    assert training_runs(get_task("kmnist"), run_meta(5, 3e-3)) == [("", run_meta(5, 3e-3))]


def test_train_blocks_flag_builds_that_backbone_and_its_card_repeats_it(tmp_path, capsys):
    from qnn_core.evaluation.report import blocks_flag
    from qnn_core.training.train import main

    out = tmp_path / "deeper.pt"
    r = run(
        "qnn_core",
        "train",
        "--task",
        "kmnist",
        "--epochs",
        "1",
        "--subset",
        "128",
        "--max-batches",
        "1",
        "--model",
        "classical",
        "--blocks",
        "1,2,2",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    model, meta = load_checkpoint(out)
    assert model.config.blocks == (1, 2, 2) and len(model.backbone.stages[1]) == 2
    assert blocks_flag(meta["config"]) == " --blocks 1,2,2"
    assert blocks_flag(load_checkpoint(ROOT / "checkpoints" / "mnist_hybrid.pt")[1]["config"]) == ""
    # Fine-tuning it keeps its shape without repeating --blocks.
    tuned = tmp_path / "tuned.pt"
    r = run(
        "qnn_core",
        "train",
        "--task",
        "kmnist",
        "--epochs",
        "1",
        "--subset",
        "128",
        "--max-batches",
        "1",
        "--model",
        "classical",
        "--init",
        str(out),
        "--out",
        str(tuned),
    )
    assert r.returncode == 0, r.stderr
    assert load_checkpoint(tuned)[0].config.blocks == (1, 2, 2)
    for bad in ("1,2", "1,x,2", "1,0,2"):
        with pytest.raises(SystemExit) as exit_:
            main(["--task", "kmnist", "--blocks", bad, "--out", str(tmp_path / "never.pt")])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and "--blocks wants 3 positive integers" in err and err.count("\n") == 1


def test_train_preact_flag_builds_preactivation_blocks_that_the_card_and_init_keep(tmp_path):
    from qnn_core.evaluation.report import backbone_text, preact_flag
    from qnn_core.models.hybrid import PreActBlock

    out = tmp_path / "preact.pt"
    r = run(
        "qnn_core",
        "train",
        "--task",
        "kmnist",
        "--epochs",
        "1",
        "--subset",
        "128",
        "--max-batches",
        "1",
        "--model",
        "classical",
        "--preact",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    model, meta = load_checkpoint(out)
    blocks = [b for stage in model.backbone.stages for b in stage]
    assert model.config.preact and blocks and all(isinstance(b, PreActBlock) for b in blocks)
    assert preact_flag(meta["config"]) == " --preact"
    assert backbone_text(meta["config"], meta, 1).startswith("pre-activation ResNet")
    shipped = load_checkpoint(ROOT / "checkpoints" / "mnist_hybrid.pt")[1]["config"]
    assert preact_flag(shipped) == "" and not backbone_text(shipped, {}, 1).startswith("pre-activation")
    tuned = tmp_path / "tuned.pt"
    r = run(
        "qnn_core",
        "train",
        "--task",
        "kmnist",
        "--epochs",
        "1",
        "--subset",
        "128",
        "--max-batches",
        "1",
        "--model",
        "classical",
        "--init",
        str(out),
        "--out",
        str(tuned),
    )
    assert r.returncode == 0, r.stderr
    assert load_checkpoint(tuned)[0].config.preact


def test_swa_averages_the_epochs_weights_and_gives_them_their_own_batchnorm_statistics(tiny_checkpoint, tmp_path):
    """At lr 0 every epoch's weights equal the start's, so their average must too; its BatchNorm statistics are
    recomputed on the training images (update_bn), so they differ from the starting checkpoint's."""
    import torch

    from qnn_core.evaluation.report import kept_text
    from qnn_core.training.train import TrainConfig, train

    out = tmp_path / "swa.pt"
    cfg = TrainConfig(task="mnist", epochs=2, subset=256, max_batches=2, lr=0.0, swa=True, init=str(tiny_checkpoint))
    meta = train(cfg, out, quiet=True)
    assert (
        cfg
        == TrainConfig(task="mnist", epochs=2, subset=256, max_batches=2, lr=0.0, swa=True, init=str(tiny_checkpoint))
        and cfg.model == {}
    )  # --init's backbone shape went to a copy
    assert meta["best_epoch"] == "swa" and meta["swa"]["averaged_epochs"] == 2
    assert (
        meta["swa"]["val_acc"] >= meta["swa"]["best_single_val_acc"] and meta["swa"]["val_acc"] == meta["val_accuracy"]
    )
    start, _ = load_checkpoint(tiny_checkpoint)
    kept, kept_meta = load_checkpoint(out)
    assert kept_meta["train_config"]["swa"] and "SWA" in kept_text(kept_meta)
    start_params = dict(start.named_parameters())
    for name, p in kept.named_parameters():
        assert torch.equal(p, start_params[name]), name
    start_buffers = dict(start.named_buffers())
    assert any(not torch.allclose(b, start_buffers[name]) for name, b in kept.named_buffers() if "running_mean" in name)
