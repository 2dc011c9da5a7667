"""The package is declared once, in pyproject.toml: pinned runtime dependencies, the extras setup.sh installs, the
`qnn` script, and one version; TorchQuantum and qiskit stay out of it (setup.sh installs them with --no-deps)."""

import re
import tomllib
from importlib.metadata import version

from helpers import ROOT

import qnn_core

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
NO_DEPS_LINES = [
    line.strip()
    for line in (ROOT / "requirements-torchquantum.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
NO_DEPS = [line.split("==")[0].lower() for line in NO_DEPS_LINES]


def name_of(requirement: str) -> str:
    return re.split(r"[\[=<>~!; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_dependency_is_pinned():
    every = PROJECT["dependencies"] + [r for extra in PROJECT["optional-dependencies"].values() for r in extra]
    loose = [r for r in every + NO_DEPS_LINES if "==" not in r]
    assert not loose, loose


def test_torchquantum_and_qiskit_are_installed_without_their_declared_requirements():
    assert {"torchquantum", "qiskit", "qiskit-terra", "qiskit-aer"} <= set(NO_DEPS)
    declared = {name_of(r) for r in PROJECT["dependencies"]}
    assert not declared & {n.replace("_", "-") for n in NO_DEPS}, declared & set(NO_DEPS)
    setup = (ROOT / "setup.sh").read_text()
    assert '-e ".[test,ray]"' in setup and "--no-deps -r requirements-torchquantum.txt" in setup
    assert setup.index('-e ".[test,ray]"') < setup.index("--no-deps -r requirements-torchquantum.txt")


def test_one_version_read_from_the_package_metadata():
    assert qnn_core.__version__ == version("qnn-core") == PROJECT["version"]
    init = (ROOT / "qnn_core" / "__init__.py").read_text()
    assert PROJECT["version"] not in init


def test_the_extras_setup_and_benchmarks_use():
    assert {"ray", "test", "bench"} <= set(PROJECT["optional-dependencies"])
    test = {name_of(r) for r in PROJECT["optional-dependencies"]["test"]}
    assert {"pytest", "pytest-xdist", "pytest-timeout", "selenium", "ruff", "mypy"} <= test
    assert PROJECT["scripts"] == {"qnn": "qnn_core.cli:main"}
