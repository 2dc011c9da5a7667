"""AppTest of every page: renders, predicts an uploaded test image, explains it, and handles bad uploads."""
import io

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from conftest import ROOT, mnist_on_canvas
from qnn_core.data import load_split
from qnn_core.tasks import TASKS, get_task

TASK_PAGES = {"mnist": "app_pages/digits.py", "kmnist": "app_pages/kana.py", "fashion": "app_pages/fashion.py",
              "letters": "app_pages/letters.py"}


def _app(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    return at


def test_home_lists_every_task_with_its_accuracy_and_the_circuit():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown) + " ".join(s.value for s in at.subheader)
    for task in TASKS.values():
        assert task.title in text
    labels = [m.label for m in at.metric]
    assert labels.count("Hybrid test accuracy") == len(TASKS)
    assert all(m.value not in ("not trained yet", "not measured") for m in at.metric)
    assert "8 angles" in text


def test_results_page_renders():
    at = _app("app_pages/results.py").run()
    assert not at.exception
    assert len(at.tabs) == len(TASKS)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _upload(at: AppTest, name: str, data: bytes, filename: str = "mine.png") -> AppTest:
    at.get("file_uploader")[0].upload(filename, data, "image/png")
    return at.run()


def _shown_label(at: AppTest) -> str:
    big = [m.value for m in at.markdown if "qnn-label" in m.value]
    assert len(big) == 1, big
    return big[0].split(">")[1].split("<")[0]


def _gradcam_shown(at: AppTest) -> bool:
    return any("Grad-CAM" in c for img in at.image for c in img.captions)


@pytest.mark.parametrize("name", list(TASK_PAGES))
def test_task_page_upload_predicts_and_explains(name):
    task = get_task(name)
    test = load_split(task, "test")
    i = int((test.labels == 3).nonzero()[0][0])
    img = Image.fromarray(test.images[i])
    if name == "mnist":  # a user's photo of a digit: dark ink on paper, larger, off-centre
        img = mnist_on_canvas(test.images[i], "dark-on-light")
    at = _upload(_app(TASK_PAGES[name]).run(), name, _png(img))
    assert not at.exception
    assert _shown_label(at) == task.label(3)
    assert _gradcam_shown(at)
    assert len(at.get("plotly_chart")) >= 2  # probabilities and the qubits' <Z>


@pytest.mark.parametrize("name", list(TASK_PAGES))
def test_task_page_bad_upload_gets_a_message(name):
    at = _upload(_app(TASK_PAGES[name]).run(), name, b"definitely not a picture", "notes.png")
    assert not at.exception
    assert any("cannot be used" in e.value and "not an image" in e.value for e in at.error)
    at = _upload(_app(TASK_PAGES[name]).run(), name, _png(Image.new("RGB", (200, 200), "white")), "blank.png")
    assert not at.exception and any("blank" in i.value for i in at.info)


def test_quantum_switch_changes_the_chart():
    test = load_split(get_task("mnist"), "test")
    at = _upload(_app("app_pages/digits.py").run(), "mnist", _png(Image.fromarray(test.images[0])))
    at.toggle(key="mnist_upload_result_quantum").set_value(False).run()
    assert not at.exception
    assert any("quantum branch off" in m.value for m in at.markdown)


def test_task_page_example_prediction_and_gradcam():
    at = _app("app_pages/digits.py").run()
    at.button(key="mnist_example_0").click().run()
    assert not at.exception
    assert any("True class: **0**" in c.value for c in at.caption)
    assert _shown_label(at) == "0" and _gradcam_shown(at)


def test_missing_checkpoint_is_a_message(monkeypatch, tmp_path):
    import qnn_core.tasks as tasks

    monkeypatch.setattr(tasks, "CHECKPOINT_DIR", tmp_path)
    at = _app("app_pages/fashion.py").run()
    assert not at.exception
    assert any("No trained model" in e.value for e in at.error)
