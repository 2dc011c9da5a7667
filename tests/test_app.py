from streamlit.testing.v1 import AppTest

from conftest import ROOT
from qnn_core.tasks import TASKS


def test_home_lists_every_task_with_its_accuracy():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown) + " ".join(s.value for s in at.subheader)
    for task in TASKS.values():
        assert task.title in text
    labels = [m.label for m in at.metric]
    assert labels.count("Hybrid test accuracy") == len(TASKS)
    assert all(m.value not in ("not trained yet", "not measured") for m in at.metric)
