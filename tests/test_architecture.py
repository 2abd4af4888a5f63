"""The suite's import graph: no cycles, and the arrows point one way.

``benchmarks -> baselines -> lmmtc`` and ``benchmarks -> data_prep``: the core
(``lmmtc``) imports none of the packages around it, ``baselines`` none of the runner or
the converters, ``data_prep`` nothing of ours. Every import counts, at module level or
inside a function (a lazy import is still a dependency), except those under
``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lmmtc", "baselines", "benchmarks", "data_prep")
#: package -> the packages of ours it must not import
FORBIDDEN = {
    "lmmtc": {"benchmarks", "baselines", "data_prep"},
    "baselines": {"benchmarks", "data_prep"},
    "data_prep": {"benchmarks", "baselines", "lmmtc"},
    "benchmarks": set(),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
    }


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                skipped |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    return skipped


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The modules of ours that ``path`` imports (a package's ``__init__`` for a name
    imported from it that is not a module itself)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = _type_checking_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in known
                else node.module
                for alias in node.names
            ]
        else:
            continue
        found |= {name for name in names if name.split(".")[0] in PACKAGES and name in known}
    return found


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(path, known) - {name} for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read_from_every_module():
    graph = import_graph()
    assert {"lmmtc.registry", "benchmarks.run", "baselines.linear", "data_prep.cli"} <= set(graph)
    # a lazy import inside a function counts; a name imported from a package points at
    # the module when there is one
    assert "benchmarks.analysis.report" in graph["benchmarks.running.execute"]
    assert "lmmtc.transformers.masking" in graph["lmmtc.transformers.methods"]


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_one_way(package):
    bad = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if module.split(".")[0] == package
        for target in sorted(targets)
        if target.split(".")[0] in FORBIDDEN[package]
    ]
    assert not bad, f"{package} must not import {sorted(FORBIDDEN[package])}: " + "; ".join(bad)


def test_the_checker_finds_a_cycle_and_an_inward_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
