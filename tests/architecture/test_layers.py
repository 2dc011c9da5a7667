"""The package's shape is tested, not only drawn: no import cycles, and each layer imports only from below.

Every import counts, also the ones made inside functions, so a cycle cannot hide in a function body.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "qnn_core"

# Bottom to top. A module may import from its own layer (its package) and from the layers before it.
LAYERS = (
    "base",
    "preprocess",
    "models",
    "data",
    "inference",
    "training",
    "evaluation",
    "sequence",
    "jobs",
    "service",
    "commands",
)
BASE = {
    "qnn_core",
    "qnn_core.tasks",
    "qnn_core.paths",
    "qnn_core.fileio",
    "qnn_core.cli_args",
    "qnn_core.devices",
    "qnn_core.settings",
}
PAGE_MAY_IMPORT = ("qnn_core.service", "qnn_core.tasks", "qnn_core.jobs")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """qnn_core modules that a file imports anywhere in it (`from pkg import mod` counts as pkg.mod)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; the package uses absolute imports")
    return {m for m in found if m in known}


def layer(module: str) -> int:
    if module in BASE:
        return 0
    package = module.split(".")[1]
    # the rest is the `qnn` command: qnn_core.cli and qnn_core.__main__
    return LAYERS.index(package if package in LAYERS else "commands")


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: imports_of(p, set(mods)) - {m} for m, p in mods.items()}


def test_no_import_cycles() -> None:
    g = graph()
    # a package's __init__ is imported with each of its modules: only the module-to-module edges are real
    edges = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in g.items()}
    try:
        tuple(graphlib.TopologicalSorter(edges).static_order())
    except graphlib.CycleError as err:
        raise AssertionError(f"import cycle: {' -> '.join(err.args[1])}") from None


def test_each_layer_imports_only_from_below() -> None:
    wrong = [
        f"{m} ({LAYERS[layer(m)]}) imports {d} ({LAYERS[layer(d)]})"
        for m, deps in graph().items()
        for d in deps
        if layer(d) > layer(m)
    ]
    assert not wrong, "\n".join(wrong)


def test_every_package_module_has_a_layer() -> None:
    for m in modules():
        assert 0 <= layer(m) < len(LAYERS), m


def test_the_core_never_imports_streamlit() -> None:
    offenders = [
        str(p)
        for p in PACKAGE.rglob("*.py")
        if "streamlit"
        in {
            (n.module or "").split(".")[0] if isinstance(n, ast.ImportFrom) else a.name.split(".")[0]
            for n in ast.walk(ast.parse(p.read_text()))
            if isinstance(n, (ast.Import, ast.ImportFrom))
            for a in (n.names if isinstance(n, ast.Import) else [n])
        }
    ]
    assert not offenders, offenders


def test_pages_import_only_the_service_the_registry_and_jobs() -> None:
    pages = [ROOT / "streamlit_app.py", *sorted((ROOT / "app_pages").glob("*.py"))]
    known = set(modules())
    wrong = [
        f"{p.name} imports {m}"
        for p in pages
        for m in imports_of(p, known)
        if m != "qnn_core" and not m.startswith(PAGE_MAY_IMPORT)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_a_cycle(tmp_path: Path) -> None:
    """The cycle test itself can fail: two modules importing each other are reported."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from qnn_core.x import b\n")
    b.write_text("def f():\n    from qnn_core.x import a\n")
    known = {"qnn_core.x.a", "qnn_core.x.b", "qnn_core.x"}
    edges = {
        "qnn_core.x.a": imports_of(a, known) - {"qnn_core.x"},
        "qnn_core.x.b": imports_of(b, known) - {"qnn_core.x"},
    }
    try:
        tuple(graphlib.TopologicalSorter(edges).static_order())
    except graphlib.CycleError:
        return
    raise AssertionError("a two-module cycle was not detected")


def test_no_forwarding_modules_at_the_top_of_the_package() -> None:
    """One way in (`qnn`): no module at the top of qnn_core that only forwards to a subpackage."""
    tiny = [
        p.name
        for p in PACKAGE.glob("*.py")
        if p.name not in ("__init__.py", "__main__.py") and len(p.read_text().splitlines()) <= 10
    ]
    assert not tiny, tiny


def test_nothing_edits_sys_path() -> None:
    """The package is installed (setup.sh: pip install -e), so nothing needs to put the checkout on sys.path."""
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("qnn_core", "app_pages", "tests", "benchmarks")
        for p in (ROOT / folder).rglob("*.py")
        if "sys.path." + "insert" in p.read_text() or "sys.path." + "append" in p.read_text()
    ]
    assert not offenders + [n for n in ("streamlit_app.py",) if "sys.path." + "insert" in (ROOT / n).read_text()]
