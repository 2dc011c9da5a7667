"""The people's-pictures proxy: seeded, prepared like an upload, every style used, and `evaluate --proxy`."""

import json

import numpy as np
import pytest

from qnn_core.data import proxies
from qnn_core.data.loaders import load_split
from qnn_core.evaluation.evaluate import main as evaluate_main
from qnn_core.tasks import get_task


def test_proxy_is_seeded_and_prepared_like_an_upload():
    task = get_task("mnist")
    images = load_split(task, "test").images[:9]
    a, b = proxies.proxy(images, task, seed=3), proxies.proxy(images, task, seed=3)
    assert a.shape == images.shape and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, proxies.proxy(images, task, seed=4))
    assert not np.array_equal(a, images)  # re-made, not copied
    rng = np.random.default_rng(0)
    for style in proxies.STYLES:
        pic = proxies.render(images[0], style, rng)
        assert pic.mode == "RGB" and min(pic.size) > 28  # a picture, larger than the data set's image
    with pytest.raises(ValueError, match="style must be one of"):
        proxies.render(images[0], "fax", rng)


def test_evaluate_proxy_reports_each_style(capsys):
    assert evaluate_main(["--task", "mnist", "--proxy", "--limit", "30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 30 and set(out["proxy"]) == {"seed", *proxies.STYLES}
    assert 0.5 < out["accuracy"] <= 1.0  # the shipped digits model still reads most of them


def test_training_renderings_are_cached_per_chunk_and_shared(tmp_path, monkeypatch):
    from qnn_core.data import rendered

    task = get_task("mnist")
    images = load_split(task, "test").images[:10]
    monkeypatch.setattr(rendered, "CHUNK", 4)
    views = rendered.rendered_views(images, task, seed=0, views=2, cache_dir=tmp_path, quiet=True)
    assert views.shape == (2, 10, 28, 28) and views.dtype == np.uint8
    assert not np.array_equal(views[0], views[1])  # each view its own draws and style order
    assert len(list(tmp_path.glob("*.npy"))) == 6  # 3 chunks a view, nothing left half-written
    calls = []
    monkeypatch.setattr(rendered.proxies, "proxy", lambda *a, **k: calls.append(1))
    again = rendered.rendered_views(images, task, seed=0, views=2, cache_dir=tmp_path, quiet=True)
    assert np.array_equal(again, views) and not calls  # read back, not made again
