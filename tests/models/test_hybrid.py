import pytest
import torch

from qnn_core.models.checkpoint import CheckpointError, load_checkpoint, read_meta, save_checkpoint
from qnn_core.models.hybrid import HybridNet, ModelConfig, classical_net, hybrid_net


def test_shapes_and_variants():
    x = torch.randn(4, 1, 28, 28)
    h, c = hybrid_net(num_classes=26), classical_net(num_classes=26)
    assert h(x).shape == c(x).shape == (4, 26)
    assert any("quantum" in n for n, _ in h.named_parameters())
    assert not any("quantum" in n for n, _ in c.named_parameters())


def test_quantum_switch_is_a_per_call_argument():
    torch.manual_seed(1)
    m = hybrid_net().eval()
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        on = m(x)
        logits_off, expvals = m.logits_and_expvals(x, quantum=False)
        again = m(x)
        from_map = m.logits_from_map(m.backbone.feature_map(x), quantum=False)
    assert not torch.allclose(on, logits_off)
    assert torch.equal(on, again)  # switching it off for one call leaves the model as it was
    assert torch.allclose(from_map, logits_off, atol=1e-6)
    assert not hasattr(m, "quantum_enabled")
    assert expvals.shape == (3, 8) and expvals.abs().max() <= 1


def test_seeded_circuit_is_reproducible():
    torch.manual_seed(7)
    a = hybrid_net()
    torch.manual_seed(7)
    b = hybrid_net()
    for (n, p), (_, q) in zip(a.quantum.named_parameters(), b.quantum.named_parameters()):
        assert torch.equal(p, q), n


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(3)
    m = HybridNet(ModelConfig(n_qubits=6, q_depth=4, num_classes=5)).eval()
    path = tmp_path / "m.pt"
    save_checkpoint(m, {"task": "x", "val_accuracy": 0.5}, path)
    raw = torch.load(path, weights_only=True)  # plain tensors and metadata only
    assert raw["meta"]["config"]["n_qubits"] == 6
    loaded, meta = load_checkpoint(path)
    assert meta["task"] == "x" and loaded.config.q_depth == 4
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(m(x), loaded(x), atol=1e-6)
    assert read_meta(path)["val_accuracy"] == 0.5
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="could not be read"):
        load_checkpoint(junk)


def test_the_matched_stand_in_is_only_for_a_classical_fused_model():
    with pytest.raises(ValueError, match="matched=True"):
        HybridNet(ModelConfig(quantum=True, matched=True))
    with pytest.raises(ValueError, match="matched=True"):
        HybridNet(ModelConfig(quantum=False, matched=True, head="bottleneck"))
    model = HybridNet(ModelConfig(quantum=False, matched=True))
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_preact_backbone_has_a_clean_identity_path_and_grad_cam_sees_its_closing_activation():
    """A pre-activation block adds its branch to the untouched input (no BN or ReLU on the sum), so with its last
    convolution zeroed it is the identity, negatives included; the backbone closes with BN -> ReLU, whose output
    is what is pooled and what Grad-CAM explains. The default layout keeps the names shipped checkpoints use."""
    import numpy as np
    from helpers import ROOT
    from PIL import Image

    from qnn_core.inference.explain import gradcam
    from qnn_core.models.hybrid import PreActBlock
    from qnn_core.preprocess.image import prepare
    from qnn_core.tasks import get_task

    torch.manual_seed(0)
    m = hybrid_net(preact=True, blocks=(1, 2, 2)).eval()
    block = m.backbone.stages[1][1]
    assert isinstance(block, PreActBlock) and block.shortcut is None
    x = torch.randn(2, 64, 14, 14)
    with torch.no_grad():
        block.conv2.weight.zero_()
        assert torch.equal(block(x), x)
        fmap = m.backbone.feature_map(torch.randn(2, 1, 28, 28))
    assert fmap.shape == (2, 128, 7, 7) and fmap.min() >= 0
    assert m.backbone.last_conv_layer is m.backbone.post and len(m.backbone.stem) == 1
    assert set(hybrid_net().state_dict()) == set(
        load_checkpoint(ROOT / "checkpoints" / "mnist_hybrid.pt")[0].state_dict()
    )
    assert not any(k.startswith("backbone.post") for k in hybrid_net().state_dict())

    digit = np.zeros((280, 280), np.uint8)
    digit[60:220, 120:160] = 255
    heat = gradcam(m, prepare(Image.fromarray(digit), get_task("mnist")), class_index=1)
    assert heat.shape == (28, 28) and np.isfinite(heat).all()
