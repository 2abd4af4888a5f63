"""The suite's import graph: no cycles, and the arrows point one way.

Between packages: ``benchmarks -> baselines -> lmmtc``, ``benchmarks -> data_prep`` and
``data_prep -> lmmtc`` (the converters write the format :mod:`lmmtc.data` owns);
``tools`` (speed and device scripts, not installed) may import all of them, and nothing
imports it. Inside ``benchmarks``, between rooms: the commands at the top
(``benchmarks.run``, ``report``, ``compare``, ``launch``) -> ``running`` -> ``analysis``
-> ``suite`` -> ``store``. Each room's ``__init__`` docstring says the same in its
``May import:`` line, checked here against :data:`ALLOWED`.

Every import counts, at module level, inside a function (a lazy import is still a
dependency) and under ``if TYPE_CHECKING:`` (a loop among types is still a loop for a
reader and a type checker).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lmmtc", "baselines", "benchmarks", "data_prep", "tools")
SUB_ROOMS = ("benchmarks.store", "benchmarks.suite", "benchmarks.analysis", "benchmarks.running")
#: room -> the other rooms it may import (a package is a room; so is each of SUB_ROOMS,
#: and ``benchmarks`` is its top: the commands)
ALLOWED: dict[str, set[str]] = {
    "lmmtc": set(),
    "data_prep": {"lmmtc"},
    "baselines": {"lmmtc"},
    "benchmarks.store": {"lmmtc"},
    "benchmarks.suite": {"benchmarks.store", "data_prep", "lmmtc"},
    "benchmarks.analysis": {"benchmarks.store", "benchmarks.suite", "data_prep", "lmmtc"},
    "benchmarks.running": {
        "benchmarks.analysis",
        "benchmarks.store",
        "benchmarks.suite",
        "baselines",
        "data_prep",
        "lmmtc",
    },
    "benchmarks": {*SUB_ROOMS, "baselines", "data_prep", "lmmtc"},
    "tools": {"benchmarks", *SUB_ROOMS, "baselines", "data_prep", "lmmtc"},
}


def room_of(module: str) -> str:
    """``benchmarks.store.records`` -> ``benchmarks.store``; ``lmmtc.metrics`` -> ``lmmtc``;
    ``benchmarks.run`` (a command) -> ``benchmarks``."""
    return (
        next((r for r in SUB_ROOMS if module == r or module.startswith(r + ".")), None)
        or (module.split(".")[0])
    )


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


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The modules of ours that ``path`` imports (a package's ``__init__`` for a name
    imported from it that is not a module itself)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
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


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_imports_point_one_way(room):
    bad = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if room_of(module) == room
        for target in sorted(targets)
        if room_of(target) != room and room_of(target) not in ALLOWED[room]
    ]
    assert not bad, f"{room} may import only {sorted(ALLOWED[room])}: " + "; ".join(bad)


def test_the_rooms_themselves_form_no_loop():
    assert cycles(ALLOWED) == []
    assert {room_of(module) for module in import_graph()} == set(ALLOWED)


@pytest.mark.parametrize("room", [*SUB_ROOMS, "benchmarks", "tools"])
def test_each_room_says_what_it_may_import(room):
    """The ``May import:`` line of the room's ``__init__`` docstring is :data:`ALLOWED`."""
    init = REPO_ROOT / room.replace(".", "/") / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    line = next((ln for ln in doc.splitlines() if ln.startswith("May import:")), "")
    assert line, f"{init}: its docstring has no 'May import:' line"
    assert {name.strip() for name in line.removeprefix("May import:").split(",")} == ALLOWED[room]


def test_a_type_checking_import_counts(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from lmmtc import metrics\n"
    )
    assert imports_of(module, {"lmmtc", "lmmtc.metrics"}) == {"lmmtc.metrics"}


def test_tools_are_not_in_the_wheel():
    """The speed and device scripts live in tools/, which setuptools does not pick up."""
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    include = re.findall(r'"([^"]+)"', re.search(r"^include = \[(.*)\]$", pyproject, re.M)[1])
    assert "benchmarks*" in include
    assert not [p for p in include if p.rstrip("*") and "tools".startswith(p.rstrip("*"))]
    assert not list((REPO_ROOT / "benchmarks").rglob("speed_*.py"))
    assert not list((REPO_ROOT / "benchmarks").rglob("device_*"))


def test_the_checker_finds_a_cycle_and_an_inward_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
