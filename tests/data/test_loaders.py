import gzip
import shutil

import numpy as np
import pytest

from qnn_core.data.loaders import load_split
from qnn_core.data.split import DataNotFoundError, train_val_split
from qnn_core.tasks import TASKS, get_task


@pytest.mark.parametrize("name", [n for n, t in TASKS.items() if t.input.kind == "ink"])
def test_official_splits(name):
    task = get_task(name)
    test = load_split(task, "test")
    # letters: 10 unseen writers x 52 letters (letters.py); hiragana: a held-out font and its own stroke renderings
    n = {"strokes": 520, "kanjivg": 4260}.get(task.data.kind, 10000)
    assert test.images.shape == (n, 28, 28) and test.images.dtype == np.uint8
    assert set(np.unique(test.labels)) == set(range(task.num_classes))
    # Light ink on a dark background, as every preprocessing step assumes.
    assert np.median(test.images[:, 0, :]) == 0


def test_validation_comes_from_train_and_is_fixed():
    train = load_split(get_task("mnist"), "train")
    a_train, a_val = train_val_split(train, seed=0)
    _, b_val = train_val_split(train, seed=0)
    assert len(a_train) + len(a_val) == 60000 and len(a_val) == 5000
    assert np.array_equal(a_val.labels, b_val.labels)


def test_user_root_in_torchvision_layout(tmp_path):
    task = get_task("mnist")
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in task.data.test:
        with gzip.open(task.data.default_root / name) as src, open(raw / name[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst)
    mine = load_split(task, "test", root=tmp_path)
    assert np.array_equal(mine.images, load_split(task, "test").images)


def test_missing_data_says_what_to_do(tmp_path):
    with pytest.raises(DataNotFoundError, match="--download"):
        load_split(get_task("fashion"), "test", root=tmp_path)
