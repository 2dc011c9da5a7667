"""Pages come from the registry: a new task entry is a new page, with its extras file or the generic page."""

from __future__ import annotations

from dataclasses import replace

from streamlit.testing.v1 import AppTest

from app_pages import navigation
from qnn_core.tasks import TASKS


def _pages_script() -> None:  # runs inside AppTest's script context, where st.Page can be built
    import streamlit as st

    from app_pages.navigation import pages

    for page in pages():
        st.text(f"{page.url_path}|{page.icon}")


def _urls(at: AppTest) -> dict[str, str]:
    return dict(t.value.split("|", 1) for t in at.text)


def test_every_task_has_a_page_at_its_url() -> None:
    at = AppTest.from_function(_pages_script, default_timeout=60).run()
    assert not at.exception
    urls = _urls(at)
    assert "" in urls and all(task.page_path in urls for task in TASKS.values())


def test_a_new_task_entry_gets_the_generic_page_of_its_kind(monkeypatch) -> None:
    monkeypatch.setitem(TASKS, "scribbles", replace(TASKS["mnist"], name="scribbles", page="scribbles", icon=""))
    monkeypatch.setitem(TASKS, "snaps", replace(TASKS["animals"], name="snaps", page="snaps", icon=""))
    rendered = []
    monkeypatch.setattr(navigation.handwriting_page, "render", lambda name: rendered.append(("ink", name)))
    monkeypatch.setattr(navigation.photo_page, "render", lambda name: rendered.append(("photo", name)))
    navigation.generic_page(TASKS["scribbles"])()
    navigation.generic_page(TASKS["snaps"])()
    assert rendered == [("ink", "scribbles"), ("photo", "snaps")]
    at = AppTest.from_function(_pages_script, default_timeout=60).run()
    assert not at.exception
    urls = _urls(at)
    assert urls["scribbles"] == "✏️" and urls["snaps"] == "🖼️"
