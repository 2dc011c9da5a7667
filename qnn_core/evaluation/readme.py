"""Script-written blocks of README.md: each sits between two HTML comment markers, so a script can
rewrite its numbers without touching the prose around them."""

from __future__ import annotations

import re
from pathlib import Path

from qnn_core.tasks import REPO_ROOT

README = REPO_ROOT / "README.md"


def percent_cell(result: dict | None, key: str = "accuracy") -> str:
    """A table cell: the result's `key` as a percentage, or a dash where there is no such result."""
    return f"{result[key]:.2%}" if result and key in result else "–"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_block(name: str, block: str, readme: Path = README) -> bool:
    """Put `block` between the `name` markers; False (and nothing written) if the file has no such markers."""
    start, end = markers(name)
    text = readme.read_text()
    if start not in text or end not in text:
        return False
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    readme.write_text(pattern.sub(lambda _: f"{start}\n{block}\n{end}", text))
    return True
