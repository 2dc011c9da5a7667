"""Who is at this browser: a visitor id kept in the URL, and whether they unlocked the teacher's controls.

One way only: a random token (`secrets.token_urlsafe`) made on the first visit, kept in `st.session_state`, written
to `st.query_params["visitor"]` on every page (a page switch may drop it) and read back from there on a reload.
Streamlit can read cookies but not set them without a component, so no cookies. Nothing personal is stored.

The teacher's token is `QNN_ADMIN_TOKEN`, else `admin_token` in .streamlit/secrets.toml; without one nobody is the
teacher. It is compared in constant time and never logged, and only "unlocked" is kept in the session, not the token.
"""

from __future__ import annotations

import os
import secrets

import streamlit as st

from qnn_core import jobs

KEY = "visitor"
TEACHER = "teacher_unlocked"


def visitor_id() -> str:
    """This browser's visitor id: from the session, else from the URL (a reload), else a new one; kept in the URL."""
    vid = st.session_state.get(KEY)
    if not jobs.is_visitor_id(vid):
        from_url = st.query_params.get(KEY)
        vid = from_url if jobs.is_visitor_id(from_url) else secrets.token_urlsafe(16)
        st.session_state[KEY] = vid
    if st.query_params.get(KEY) != vid:
        st.query_params[KEY] = vid
    return vid


def admin_token() -> str | None:
    """The teacher's token, or None when the server has none (then nobody can serve a model to everyone)."""
    token = os.environ.get("QNN_ADMIN_TOKEN", "").strip()
    if token:
        return token
    try:
        token = str(st.secrets.get("admin_token", "") or "").strip()
    except Exception:  # no secrets.toml, or one that does not parse: no token from there
        return None
    return token or None


def is_teacher() -> bool:
    """Unlocked in this session, and a token is still configured (unsetting it locks everyone out)."""
    return bool(st.session_state.get(TEACHER)) and admin_token() is not None


def unlock(given: str) -> bool:
    """Check an entered token; True (and this session unlocked) when it is the teacher's."""
    ok = jobs.token_matches(given.strip(), admin_token())
    st.session_state[TEACHER] = ok
    return ok


def lock() -> None:
    st.session_state[TEACHER] = False
