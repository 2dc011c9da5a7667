"""The README a newcomer reads in five minutes, and docs/ for the rest: the README's length and first screen,
every relative link and anchor in README.md, CONTRIBUTING.md and docs/*.md, and the script-written blocks (each on
the page evaluation/readme.py's PAGES names, each what its command writes from the committed JSON)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks import report as bench_report
from qnn_core.evaluation import ablation, bottleneck_report, unsure_report
from qnn_core.evaluation.readme import PAGES, markers, read_block
from qnn_core.evaluation.report import load_eval, results_table, summary_table
from qnn_core.sequence import eval as sequence_eval
from qnn_core.tasks import TASKS

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES_WITH_LINKS = [README, ROOT / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))]
MAX_README_WORDS = 1600
START_APP = "./setup.sh && .venv/bin/streamlit run streamlit_app.py"
RUN_TESTS = "./setup.sh && .venv/bin/python -m pytest -q -n 2 --dist loadfile"

FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.S | re.M)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def without_code_blocks(text: str) -> str:
    return FENCE.sub("", text)


def words(text: str) -> int:
    """Whitespace-separated words outside fenced code blocks: the README's measure."""
    return len(without_code_blocks(text).split())


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|__|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for heading in HEADING.findall(without_code_blocks(path.read_text())):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def relative_links(path: Path) -> list[str]:
    prose = re.sub(r"`[^`\n]*`", "code", without_code_blocks(path.read_text()))
    return [t for t in LINK.findall(prose) if not re.match(r"[a-z][a-z0-9+.-]*:", t, re.I)]


def test_readme_is_read_in_five_minutes():
    n = words(README.read_text())
    assert n <= MAX_README_WORDS, f"README.md has {n} words outside code blocks (at most {MAX_README_WORDS})"


def test_the_word_count_leaves_out_code_blocks():
    assert words("one two\n```sh\nthree four five\n```\nsix\n") == 3


def test_the_two_commands_are_on_the_first_screen():
    first = "\n".join(README.read_text().splitlines()[:40])
    assert START_APP in first and RUN_TESTS in first


def test_readme_says_what_pip_install_alone_gives():
    text = " ".join(README.read_text().split())
    assert "pip install -e ." in text and "qnn --help" in text and "--no-deps" in text


@pytest.mark.parametrize("page", PAGES_WITH_LINKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    assert page.is_file(), f"{page.name} is missing"
    broken = []
    for target in relative_links(page):
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def test_the_link_check_finds_a_broken_link(tmp_path):
    (tmp_path / "a.md").write_text("# Top\n\n[ok](a.md#top) [bad](b.md) `[not](a link)`\n```\n[nor](this)\n```\n")
    assert relative_links(tmp_path / "a.md") == ["a.md#top", "b.md"]
    assert anchors(tmp_path / "a.md") == {"top"}


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in relative_links(README)}
    orphans = [p.name for p in DOCS.glob("*.md") if p.resolve() not in linked]
    assert not orphans, f"docs pages the README does not link: {orphans}"


def test_each_script_written_block_is_on_its_page_once():
    for name, page in PAGES.items():
        start, end = markers(name)
        text = page.read_text()
        assert text.count(start) == 1 and text.count(end) == 1, f"{page.name}: {name} markers"
    pages = [README, *DOCS.glob("*.md")]
    for page in pages:
        found = set(re.findall(r"^<!-- ([\w-]+):start -->$", page.read_text(), re.M))
        wrong = {name for name in found if PAGES.get(name) != page}
        assert not wrong, f"{page.name} has blocks that PAGES puts elsewhere: {wrong}"


def test_results_tables_are_the_committed_evaluations():
    """docs/results.md's results block and README's short table are exactly what `qnn report` writes from the
    committed evaluation files, and each target's verdict follows from the accuracy."""
    block = read_block("results")
    rows = [(t, load_eval(t, True), load_eval(t, False)) for t in TASKS.values()]
    assert block == results_table(rows).strip()
    assert read_block("summary") == summary_table(rows).strip()
    for task in TASKS.values():
        if task.target is not None:
            met = load_eval(task, True)["accuracy"] >= task.target
            row = next(line for line in block.splitlines() if line.startswith(f"| {task.title} |"))
            assert ("**met**" if met else "**missed**") in row


def test_unsure_and_bottleneck_tables_are_what_report_writes():
    assert read_block("unsure") == unsure_report.table()
    assert read_block("bottleneck") == bottleneck_report.table()


def test_ablation_block_is_what_the_ablation_writes():
    data = json.loads(ablation.DEFAULT_JSON.read_text())
    assert read_block("ablation") == ablation.readme_block(data, "ABLATION.md")


def test_performance_block_is_what_the_benchmarks_write():
    data = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    assert read_block("performance") == bench_report.readme_block(data)


def test_line_reading_table_is_what_sequence_eval_writes():
    results = [json.loads(p.read_text()) for p in sorted(sequence_eval.BENCHMARKS.glob("sequence_eval_*.json"))]
    assert read_block("sequence") == sequence_eval.readme_table(results)
