"""The house's imports run one way (ENGINEERING.md, issue 10):

    ui / api / worker / the app  →  services  →  providers  →  domain, models, db, …

Every ``import`` of every module of ``zenmux_refunds`` is read with ``ast`` — the ones
inside functions too, since a lazy import is still an arrow — and the test fails on
an import from a layer above the importer's own, on a cycle between modules, and on
``domain`` importing anything outside ``domain`` (it is pure: no database, no
configuration, no clock).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "zenmux_refunds"

# lowest first; a module may import from its own layer or any layer below it
LAYERS = ("base", "providers", "services", "top")
BASE = {"domain", "i18n", "models", "db", "config", "clock", "http_body", "session_cookie",
        "log_safety", "http_security", "metrics", "logs"}
TOP = {"ui", "api", "auth_api", "worker", "usage_consumer", "zenmux_refunds", "__main__",
       "ops_api"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _layer(module: str) -> str:
    first = module.split(".")[1] if "." in module else ""
    if first in BASE or first == "":
        return "base"
    if first in ("providers", "services"):
        return first
    if first in TOP:
        return "top"
    raise AssertionError(f"{module}: no layer is set for it — add it to test_layers.py")


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of the package that ``module`` imports (anywhere in its body)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from pkg import sub" imports the submodule when there is one
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def test_no_module_imports_from_a_layer_above_its_own():
    graph = _graph()
    upward = sorted(f"{src} ({_layer(src)}) imports {dst} ({_layer(dst)})"
                    for src, targets in graph.items() for dst in targets
                    if LAYERS.index(_layer(dst)) > LAYERS.index(_layer(src))
                    and dst != "zenmux_refunds")
    assert upward == []


def test_the_domain_imports_only_the_domain():
    graph = _graph()
    impure = sorted(f"{src} imports {dst}" for src, targets in graph.items()
                    if src.startswith("zenmux_refunds.domain")
                    for dst in targets if not dst.startswith("zenmux_refunds.domain"))
    assert impure == []


def test_the_imports_have_no_cycles():
    graph = _graph()
    # package __init__ modules are imported on the way to their submodules; an arrow
    # to a package that only re-exports a submodule would be a false cycle, so follow
    # what the code names
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == "zenmux_refunds":
                continue
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """The control: a provider importing a service is found, and so is the cycle."""
    fake = tmp_path / "zenmux_refunds"
    (fake / "providers").mkdir(parents=True)
    (fake / "services").mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "providers" / "__init__.py").write_text("")
    (fake / "services" / "__init__.py").write_text("")
    (fake / "providers" / "p.py").write_text(
        "def f():\n    from zenmux_refunds.services import s\n")
    (fake / "services" / "s.py").write_text("from zenmux_refunds.providers import p\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "PACKAGE", fake)
    graph = _graph()
    assert graph["zenmux_refunds.providers.p"] == {"zenmux_refunds.services.s"}
    assert graph["zenmux_refunds.services.s"] == {"zenmux_refunds.providers.p"}
    import pytest

    with pytest.raises(AssertionError):
        test_no_module_imports_from_a_layer_above_its_own()
    with pytest.raises(AssertionError):
        test_the_imports_have_no_cycles()
