import pytest
import torch

from qnn_core.preprocess.augment import augment, augment_kind_known, cutmix, elastic, erase, swap_in


def strokes(n: int = 8) -> torch.Tensor:
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 6:22, 12:16] = 1.0  # a vertical bar
    x[:, :, 12:16, 6:22] = 1.0  # crossed by a horizontal one
    return x


def test_erase_blanks_one_rectangle_and_nothing_else():
    x = torch.ones(64, 1, 28, 28)
    out = erase(x, torch.Generator().manual_seed(0), p=1.0)
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    for img in out[:, 0]:
        rows, cols = torch.nonzero(img == 0, as_tuple=True)
        assert len(rows) > 0
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert box == len(rows)  # the blanked pixels fill their bounding box: one rectangle
        assert len(rows) <= 0.35 * 28 * 28
    assert torch.equal(erase(x, torch.Generator().manual_seed(0), p=0.0), x)


def test_cutmix_pastes_one_box_of_another_image_and_weights_the_labels_by_what_shows():
    n = 64  # image i is all i (and labelled i), so every pixel says which image it came from
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 28, 28).clone()
    y = torch.arange(n) % 10
    out, target = cutmix(x, y, 10, torch.Generator().manual_seed(0), p=1.0)
    assert out.shape == x.shape and target.shape == (n, 10)
    assert torch.allclose(target.sum(1), torch.ones(n))
    mixed = 0
    for i, img in enumerate(out[:, 0]):
        foreign = img != i
        if not foreign.any():  # the permutation's fixed points (and empty boxes) keep their own label
            assert target[i, y[i]] == 1.0
            continue
        mixed += 1
        partner = int(img[foreign].unique().item())  # one other image shows through, in one rectangle
        rows, cols = torch.nonzero(foreign, as_tuple=True)
        assert (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1) == len(rows)
        share = len(rows) / (28 * 28)
        expected = torch.zeros(10)
        expected[y[i]] += 1 - share
        expected[y[partner]] += share
        assert torch.allclose(target[i], expected, atol=1e-6)
    assert mixed > n // 2
    same, one_hot = cutmix(x, y, 10, torch.Generator().manual_seed(0), p=0.0)
    assert torch.equal(same, x) and torch.equal(one_hot, torch.nn.functional.one_hot(y, 10).float())


def test_elastic_warps_locally_and_keeps_the_ink():
    x = strokes()
    g = torch.Generator().manual_seed(1)
    assert torch.allclose(elastic(x, g, p=0.0), x, atol=1e-5)
    out = elastic(x, g, p=1.0)
    assert not torch.allclose(out, x, atol=1e-3)
    ink_ratio = out.sum(dim=(1, 2, 3)) / x.sum(dim=(1, 2, 3))
    assert ((ink_ratio > 0.8) & (ink_ratio < 1.2)).all()  # a small, smooth warp: no ink appears or vanishes
    assert (out[:, :, :3].abs().max() < 1e-3) and (out[:, :, -3:].abs().max() < 1e-3)  # borders stay empty


def test_kind_with_extras_is_reproducible_and_unknown_kinds_fail():
    x = strokes()
    a = augment("handwriting+elastic+erase", x, torch.Generator().manual_seed(3))
    b = augment("handwriting+elastic+erase", x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == x.shape
    with pytest.raises(KeyError):
        augment("handwriting+sparkles", x, torch.Generator())


def test_render_swaps_in_the_renderings_and_needs_them():
    x, rendered = strokes(200), torch.full((200, 1, 28, 28), 0.5)
    out = swap_in(x, rendered, torch.Generator().manual_seed(0))
    swapped = (out == 0.5).flatten(1).all(1)
    assert 60 < int(swapped.sum()) < 140 and torch.equal(out[~swapped], x[~swapped])
    assert augment_kind_known("handwriting+render+elastic") and not augment_kind_known("handwriting+rendered")
    with pytest.raises(ValueError, match="needs the images' renderings"):
        augment("handwriting+render", x, torch.Generator())
    a = augment("handwriting+render", x, torch.Generator().manual_seed(2), rendered)
    assert torch.equal(a, augment("handwriting+render", x, torch.Generator().manual_seed(2), rendered))


def test_train_cli_rejects_an_unknown_augmentation():
    import subprocess
    import sys

    from helpers import ROOT

    r = subprocess.run(
        [sys.executable, "-m", "qnn_core", "train", "--task", "mnist", "--augment", "garment+glitter"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and "unknown augmentation 'garment+glitter'" in r.stderr and "Traceback" not in r.stderr
