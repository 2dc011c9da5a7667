"""The app's pages, built from the task registry: adding a task adds its page.

A task's page is `app_pages/<page>.py` where that file exists (page extras: intro text, hints, a line mode), else
the generic handwriting or photo page for its kind of input.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from app_pages import photo_page
from app_pages import task_page as handwriting_page
from qnn_core.tasks import TASKS, TaskSpec

PAGES = Path(__file__).resolve().parent


def task_page(task: TaskSpec) -> st.Page:
    title = task.page_title or task.page_path.replace("_", " ").capitalize()
    icon = task.icon or ("🖼️" if task.input.kind == "photo" else "✏️")
    file = PAGES / f"{task.page_path}.py"
    if file.is_file():
        return st.Page(file, title=title, icon=icon, url_path=task.page_path)

    return st.Page(generic_page(task), title=title, icon=icon, url_path=task.page_path)


def generic_page(task: TaskSpec) -> Callable[[], None]:
    """The page of a task that has no extras file: the handwriting or the photo page, by its kind of input."""

    def page() -> None:
        (photo_page if task.input.kind == "photo" else handwriting_page).render(task.name)

    page.__name__ = task.page_path  # Streamlit names a callable's page after the function
    return page


def pages() -> list[st.Page]:
    return [
        st.Page(PAGES / "home.py", title="Home", icon="🏠", default=True),
        *(task_page(task) for task in TASKS.values()),
        st.Page(PAGES / "results.py", title="Model results", icon="📊"),
        st.Page(PAGES / "training.py", title="Training", icon="🏋️"),
    ]
