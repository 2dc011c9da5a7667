"""The one atomic array writer the caches share: what it writes reads back, and writers racing on one chunk
leave one whole file and no temporaries."""

import threading

import numpy as np
import pytest

from qnn_core.fileio import save_arrays_atomic


def test_one_array_or_named_arrays_read_back(tmp_path):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(np.load(save_arrays_atomic(tmp_path / "a.npy", a)), a)
    with np.load(save_arrays_atomic(tmp_path / "b.npz", images=a, labels=a[:, 0])) as z:
        np.testing.assert_array_equal(z["labels"], a[:, 0])
    with pytest.raises(ValueError, match="not both or neither"):
        save_arrays_atomic(tmp_path / "c.npy", a, labels=a)
    with pytest.raises(ValueError, match="not both or neither"):
        save_arrays_atomic(tmp_path / "c.npy")


def test_racing_writers_leave_one_whole_file(tmp_path):
    path = tmp_path / "chunk.npy"
    arrays = [np.full((200, 28, 28), i, dtype=np.uint8) for i in range(8)]
    threads = [threading.Thread(target=save_arrays_atomic, args=(path, a)) for a in arrays]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = np.load(path)
    assert got.shape == (200, 28, 28) and len(np.unique(got)) == 1  # one writer's array, never a mix
    assert [p.name for p in tmp_path.iterdir()] == ["chunk.npy"]
