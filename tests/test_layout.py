"""The package reads top-down: no module imports, however indirectly, a module that imports it.

Every import counts: top-level, inside functions and under ``TYPE_CHECKING`` alike, because a
cycle among type-only imports is still a cycle a reader has to untangle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import llmrelay

PACKAGE = Path(llmrelay.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = ["llmrelay", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The llmrelay modules ``path`` imports (a package's ``__init__`` counts as the package)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            root = (f"{base}.{node.module}" if node.module else base) if node.level else node.module or ""
            targets = [root] + [f"{root}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in modules and t != name}
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_import_cycles() -> None:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    graph = {module_name(p): imports_of(p, modules) for p in paths}
    # A package's __init__ importing its own submodules is how packages assemble; the edge
    # back (a submodule importing the package it lives in) is what would make a cycle.
    for name in graph:
        graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_core_values_sit_at_the_bottom() -> None:
    """Values import nothing above them: masking nothing, settings and rows only exceptions."""
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    allowed = {
        "masking.py": set(),
        "exceptions.py": set(),
        "config.py": {"llmrelay.exceptions", "llmrelay.masking"},
        "capabilities.py": {"llmrelay.exceptions"},
    }
    for file, ok in allowed.items():
        assert imports_of(PACKAGE / file, modules) <= ok, file


def test_the_library_never_imports_the_server() -> None:
    """``server`` stands on the library (router, redis_link, ...); nothing outside it imports
    it, so the library works without the server's dependencies."""
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    for path in paths:
        name = module_name(path)
        if name == "llmrelay.server" or name.startswith("llmrelay.server."):
            continue
        found = {m for m in imports_of(path, modules)
                 if m == "llmrelay.server" or m.startswith("llmrelay.server.")}
        assert not found, f"{name} imports {sorted(found)}"
