"""Entry point: `streamlit run streamlit_app.py`. Navigation only, built from the task registry: a task's page is
`app_pages/<page>.py` where that file exists (page extras: intro, hints, a line mode), else the generic
handwriting or photo page. (A folder named "pages" beside this file would switch Streamlit into its legacy
multipage mode on a first visit, hence app_pages/.)"""
from pathlib import Path

import streamlit as st

from app_pages import photo_page, task_page as handwriting_page
from qnn_core.tasks import TASKS, TaskSpec

PAGES = Path(__file__).resolve().parent / "app_pages"

st.set_page_config(page_title="Hybrid Quantum-Classical Image Classifier", page_icon="⚛️", layout="wide")


def task_page(task: TaskSpec) -> st.Page:
    """The task's own page file if it has one, else a generated page for its kind of input."""
    file = PAGES / f"{task.page_path}.py"
    title = task.page_path.replace("_", " ").capitalize()
    icon = task.icon or ("🖼️" if task.input.kind == "photo" else "✏️")
    if file.is_file():
        return st.Page(f"app_pages/{file.name}", title=title, icon=icon, url_path=task.page_path)

    def generated() -> None:
        (photo_page if task.input.kind == "photo" else handwriting_page).render(task.name)

    return st.Page(generated, title=title, icon=icon, url_path=task.page_path)


pages = [st.Page("app_pages/home.py", title="Home", icon="🏠", default=True),
         *(task_page(task) for task in TASKS.values()),
         st.Page("app_pages/results.py", title="Model results", icon="📊"),
         st.Page("app_pages/training.py", title="Training", icon="🏋️")]
st.navigation(pages).run()
