"""Script-written blocks of README.md and docs/*.md: each sits between two HTML comment markers, so a script can
rewrite its numbers without touching the prose around them.

`PAGES` says which page holds which block; every writer goes through it, so a block that moves to another page
moves here and nowhere else. Links inside a block are made relative to its page with `link`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from qnn_core.tasks import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"

# block name -> the page that holds it, and the command that writes it
PAGES: dict[str, Path] = {
    "summary": README,  # qnn report: the one short results table
    "results": DOCS / "results.md",  # qnn report: the full table, letters, people's pictures
    "unsure": DOCS / "results.md",  # qnn report (and qnn ood): the "I'm not sure" rules
    "ablation": DOCS / "quantum.md",  # qnn ablation --readme / --report-only --readme
    "bottleneck": DOCS / "quantum.md",  # qnn report
    "device": DOCS / "quantum.md",  # qnn curves (and --report-only / --qpu-only): the real-device column
    "sequence": DOCS / "reading-lines.md",  # qnn sequence-eval --readme / --report-only
    "performance": DOCS / "performance.md",  # python -m benchmarks.run --readme / --report-only --readme
}


def percent_cell(result: dict | None, key: str = "accuracy") -> str:
    """A table cell: the result's `key` as a percentage, or a dash where there is no such result."""
    return f"{result[key]:.2%}" if result and key in result else "–"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def page_of(name: str) -> Path:
    """The page that holds block `name`."""
    return PAGES[name]


def link(target: str, page: Path) -> str:
    """`target` (a path from the repository root) as a relative link from `page`, the way Markdown resolves it."""
    return Path(os.path.relpath(REPO_ROOT / target, page.parent)).as_posix()


def read_block(name: str, page: Path | None = None) -> str:
    """The text between the `name` markers on its page (stripped); KeyError if the page has no such block."""
    start, end = markers(name)
    text = (page or page_of(name)).read_text()
    if start not in text or end not in text:
        raise KeyError(f"{page or page_of(name)} has no {start} markers")
    return text[text.index(start) + len(start) : text.index(end)].strip()


def replace_block(name: str, block: str, page: Path | None = None) -> bool:
    """Put `block` between the `name` markers of `page` (default: the block's page in PAGES); False (and nothing
    written) if the page has no such markers."""
    page = page or page_of(name)
    start, end = markers(name)
    text = page.read_text() if page.is_file() else ""
    if start not in text or end not in text:
        return False
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    page.write_text(pattern.sub(lambda _: f"{start}\n{block}\n{end}", text))
    return True
