"""The package tree is the architecture (docs/architecture.md): an AST scan of every module
fails on an import that goes up a layer, on a skill that reaches for the store, the ledger or
the router, and on any import circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "filmslate"

# Lower layers never import higher ones. Providers implement the engine's interfaces; the
# top (cli, testing, synthetic, the package root) may import anything.
LAYERS = {
    "core": 0,
    "schemas": 1,
    "rules": 2,
    "store": 3,
    "engine": 4,
    "providers": 5,
    "skills": 6,
    "workflow": 7,
    "web": 8,  # the office (`slate serve`): beside cli, reading what the CLI reads
}
TOP = 8
# What a skill gets through its Context instead of importing it (DESIGN §3).
SKILL_FORBIDDEN = (
    "filmslate.store",
    "filmslate.engine._router",
    "filmslate.engine._runner",
    "filmslate.engine._render",
    "filmslate.engine._budget_view",
    "sqlite3",
)
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 300


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module this one imports, at any depth of the file (lazy imports count too)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known)
    return found


def layer_of(name: str) -> int:
    parts = name.split(".")
    return LAYERS.get(parts[1], TOP) if len(parts) > 1 else TOP


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def test_no_module_imports_a_higher_layer() -> None:
    upward = [
        f"{name} ({layer_of(name)}) imports {target} ({layer_of(target)})"
        for name, targets in graph().items()
        for target in sorted(targets)
        if target.startswith("filmslate.") and layer_of(target) > layer_of(name)
    ]
    assert upward == []


def test_skills_reach_services_only_through_the_context() -> None:
    reaching = [
        f"{name} imports {target}"
        for name, targets in graph().items()
        if name.startswith("filmslate.skills")
        for target in sorted(targets)
        if target.startswith(SKILL_FORBIDDEN)
    ]
    assert reaching == []


def test_no_import_circles() -> None:
    edges = {
        name: {t for t in targets if t.startswith("filmslate")} for name, targets in graph().items()
    }
    # A package's __init__ importing its own submodules is not a circle of the design.
    for name in edges:
        edges[name] = {t for t in edges[name] if t in edges and not t.startswith(name + ".")}
    circles = _cycles(edges)
    assert circles == []


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_the_scan_catches_an_upward_import(tmp_path: Path) -> None:
    """The scan itself can fail: an engine module importing a skill is caught."""
    bad = tmp_path / "filmslate" / "engine" / "_bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("from ..skills.production import _render\n", encoding="utf-8")
    found = imports_of("filmslate.engine._bad", bad, {"filmslate.skills.production._render"})
    assert "filmslate.skills.production._render" in found
    assert layer_of("filmslate.skills.production._render") > layer_of("filmslate.engine._bad")
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


@pytest.mark.parametrize("name", sorted(modules()))
def test_modules_and_classes_stay_small(name: str) -> None:
    source = modules()[name].read_text(encoding="utf-8")
    assert source.count("\n") <= MAX_MODULE_LINES, f"{name} has over {MAX_MODULE_LINES} lines"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            assert size <= MAX_CLASS_LINES, f"{name}.{node.name} has {size} lines"
