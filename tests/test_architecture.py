"""The house keeps its shape: no import cycle inside zoo/ (function-local imports and
``importlib.import_module`` included), each package imports only what ARCHITECTURE.md's table
allows, and at most 12 modules sit at zoo/'s top level."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "zoo"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _owner(name: str) -> str | None:
    """The zoo module ``name`` is or lies in (``zoo.models.lenet.LeNet5`` -> zoo.models.lenet)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """The zoo modules ``module`` imports anywhere in its file: at the top, inside functions,
    through ``importlib.import_module("...")`` with a literal name, and the modules of a
    ``_PUBLIC`` map of names loaded on first use (zoo/__init__.py). A package's own
    ``__init__`` imported implicitly with a submodule does not count (Python's doing)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            # `from zoo.x import y`: y may be a module (zoo.x.y) or a name in zoo.x
            names = [f"{base}.{alias.name}" for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names = [node.args[0].value]
        elif (  # zoo/__init__.py's lazy public names: {"create_model": "zoo.models", ...}
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["_PUBLIC"]
            and isinstance(node.value, ast.Dict)
        ):
            names = [v.value for v in node.value.values if isinstance(v, ast.Constant)]
        for name in names:
            owner = _owner(name) if name.startswith("zoo") else None
            if owner and owner != module:
                found.add(owner)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_zoo_has_no_import_cycle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, " -> ".join(cycle)


def _table() -> dict[str, set[str]]:
    """ARCHITECTURE.md's table of what each part may import: `| part | may import |` rows."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    section = text.split("## What each part may import", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`zoo"):
            table[cells[0].strip("`")] = set(re.findall(r"`(zoo[\w.]*)`", cells[1]))
    return table


def _part(module: str, parts: set[str]) -> str:
    """The most specific part of the table ``module`` belongs to."""
    while module not in parts:
        module = module.rpartition(".")[0]
    return module


def test_each_part_imports_only_what_architecture_md_allows():
    table = _table()
    assert "zoo.models" in table and "zoo.training" in table  # the table was read
    forbidden = []
    for module, imported in GRAPH.items():
        part = _part(module, set(table))
        for other in imported:
            other_part = _part(other, set(table))
            if other_part != part and other_part not in table[part]:
                forbidden.append(f"{module} imports {other} ({other_part} is not in {part}'s row)")
    assert not forbidden, "\n".join(sorted(forbidden))


def test_zoo_top_level_holds_at_most_12_modules():
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 12, modules


@pytest.mark.parametrize("binary", [".whl", ".pt", ".pth", ".ckpt", ".npy", ".npz", ".zip"])
def test_no_binary_is_tracked_outside_the_shipped_weights(binary):
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [p for p in tracked if p.endswith(binary)]
