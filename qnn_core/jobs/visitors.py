"""Who submitted a job: a browser's visitor id, or the operator (the CLI).

A visitor id is a random token the page creates on a first visit (`secrets.token_urlsafe`) and keeps in the URL,
so it survives a reload but not a change of browser. It is all the app knows of a person: no name, no address.
It is also a bearer token (whoever has the URL acts as that visitor), so pages never show another visitor's id,
only `tag`, a short digest that tells visitors apart without giving theirs away.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from qnn_core.jobs.store import OPERATOR

VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")  # token_urlsafe(16) gives 22 such characters


def is_visitor_id(value: object) -> bool:
    """A well-formed visitor id (never the operator's name, which is too short to be one)."""
    return isinstance(value, str) and VISITOR_ID.fullmatch(value) is not None


def check_visitor(value: str) -> str:
    """The id itself, or ValueError with one line saying what is wrong."""
    if value != OPERATOR and not is_visitor_id(value):
        raise ValueError("A visitor id is 16 to 64 letters, digits, '-' or '_'.")
    return value


def tag(visitor: str) -> str:
    """'operator', or a six-character digest that tells visitors apart in the teacher's view."""
    return OPERATOR if visitor == OPERATOR else hashlib.sha256(visitor.encode()).hexdigest()[:6]


def token_matches(given: str | None, expected: str | None) -> bool:
    """Whether `given` is the teacher's token, compared in constant time; never true when no token is set."""
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
