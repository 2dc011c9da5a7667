"""The repository passes `ruff check`, `ruff format --check` and mypy with the configuration in pyproject.toml."""

import subprocess
import sys

import pytest
from helpers import ROOT


def run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_ruff_check_passes():
    r = run("ruff", "check", "--no-cache", ".")
    assert r.returncode == 0, f"ruff check . found problems:\n{r.stdout}\n{r.stderr}"


def test_ruff_format_leaves_the_tree_unchanged():
    r = run("ruff", "format", "--check", "--no-cache", ".")
    assert r.returncode == 0, f"ruff format would change files (run `ruff format .`):\n{r.stdout}\n{r.stderr}"


@pytest.mark.slow
def test_mypy_passes_on_qnn_core():
    r = run("mypy", timeout=900)  # files and settings: [tool.mypy] in pyproject.toml
    assert r.returncode == 0, f"mypy found problems:\n{r.stdout[-6000:]}\n{r.stderr[-2000:]}"
