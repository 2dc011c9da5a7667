"""A checkpoint that holds pickled code is refused in one line, in the API and on the command line."""

import subprocess
import sys

import pytest
import torch
from helpers import ROOT, draw_digit_one

from qnn_core.models.checkpoint import CheckpointError, load_checkpoint, read_meta


class Gadget:
    """Anything that is not a tensor or a plain container: loading it would mean running pickled code."""

    def __init__(self) -> None:
        self.payload = "print('hello')"


@pytest.fixture
def pickled_code(tmp_path):
    path = tmp_path / "gadget.pt"
    torch.save({"state_dict": {}, "meta": {"task": "mnist", "config": {}, "extra": Gadget()}}, path)
    return path


@pytest.mark.parametrize("load", [load_checkpoint, read_meta])
def test_not_weights_only_is_one_line(pickled_code, load):
    with pytest.raises(CheckpointError) as err:
        load(pickled_code)
    text = str(err.value)
    assert "not a weights-only checkpoint" in text and "\n" not in text, text
    assert "Gadget" in text and len(text) < 300


def test_truncated_checkpoint_is_one_line(tmp_path):
    good = tmp_path / "good.pt"
    torch.save({"state_dict": {}, "meta": {}}, good)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(good.read_bytes()[:40])
    with pytest.raises(CheckpointError) as err:
        read_meta(bad)
    assert "could not be read" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.slow
def test_predict_refuses_it_with_exit_2_and_one_line(pickled_code, tmp_path):
    image = tmp_path / "one.png"
    draw_digit_one().save(image)
    r = subprocess.run(
        [sys.executable, "-m", "qnn_core", "predict", "--task", "mnist", "--checkpoint", str(pickled_code), str(image)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "not a weights-only checkpoint" in lines[0], r.stderr
