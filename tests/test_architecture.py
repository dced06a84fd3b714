"""The shape of the code, checked by walking its imports (`ast`), not by reading it.

- no import cycles between modules (every import counts: lazy ones inside functions and
  type-only ones too, since both say that one module needs the other);
- nothing in ``labelcheck/`` imports ``webapp/`` (the web app is a shell over labelcheck);
- no private name (``_name``) imported from another package;
- no environment variable read below the shells (the CLI and the web app read them once
  and pass a `Settings` down).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("labelcheck", "webapp")
SHELLS = ("labelcheck.cli", "webapp")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, ast.Module]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = ast.parse(path.read_text("utf-8"), str(path))
    return found


def imports(name: str, tree: ast.Module, known: set[str]) -> list[tuple[str, str]]:
    """(imported module, imported name or "") for every import in the module."""
    package = name if _is_package(name) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.append((submodule, "") if submodule in known else (base, alias.name))
    return [(module, what) for module, what in found if module.split(".")[0] in PACKAGES]


def _is_package(name: str) -> bool:
    return (ROOT / Path(*name.split(".")) / "__init__.py").is_file()


def graph() -> dict[str, set[str]]:
    trees = modules()
    known = set(trees)
    edges: dict[str, set[str]] = {name: set() for name in trees}
    for name, tree in trees.items():
        for module, _ in imports(name, tree, known):
            target = _owning_module(module, known)
            if target and target != name:
                edges[name].add(target)
    return edges


def _owning_module(module: str, known: set[str]) -> str | None:
    while module and module not in known:
        module = module.rpartition(".")[0]
    return module or None


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_labelcheck_never_imports_the_web_app():
    edges = graph()
    offenders = {name: sorted(t for t in targets if t.startswith("webapp"))
                 for name, targets in edges.items() if name.startswith("labelcheck")}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_no_private_name_crosses_a_package():
    trees = modules()
    offenders = []
    for name, tree in trees.items():
        package = name if _is_package(name) else name.rpartition(".")[0]
        for module, what in imports(name, tree, set(trees)):
            owner = module if _is_package(module) else module.rpartition(".")[0]
            private = what.startswith("_") or module.rpartition(".")[2].startswith("_")
            if private and not what.startswith("__") and owner != package:
                offenders.append(f"{name}: {module}.{what}")
    assert offenders == []


def test_environment_is_read_only_by_the_shells():
    offenders = []
    for name, tree in modules().items():
        if name.startswith(SHELLS):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and \
                    isinstance(node.value, ast.Name) and node.value.id == "os":
                offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def test_the_checker_sees_a_cycle_and_a_private_import():
    """The walk itself works: a made-up cycle is found and a private import is seen."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    tree = ast.parse("from labelcheck.run.pool import _start_worker\n")
    assert ("labelcheck.run.pool", "_start_worker") in imports(
        "webapp.jobs", tree, set())
