"""Each package's `__all__` is exactly its public surface (as httpx's test_exported_members).

"Defined by the package's `__init__`" means bound there by `def`, `class` or assignment, or
imported there from one of the package's own submodules; names imported from elsewhere
(the standard library, other sluice packages) and modules are not the package's surface.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import types
from pathlib import Path

import pytest

PACKAGES = ["sluice.store", "sluice.engine", "sluice.deploy", "sluice_runtime"]


def _bound_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _bound_names(element)]
    return []


def _defined_names(package: types.ModuleType) -> set[str]:
    """Top-level names the package's `__init__` defines or re-exports from its submodules."""
    source = Path(inspect.getfile(package)).read_text(encoding="utf-8")
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(name for target in node.targets for name in _bound_names(target))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            names.update(_bound_names(node.target))
        elif isinstance(node, ast.ImportFrom):
            own = node.level > 0 or (node.module or "").startswith(package.__name__ + ".")
            if own:
                names.update(alias.asname or alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist(name):
    package = importlib.import_module(name)
    assert len(package.__all__) == len(set(package.__all__)), "duplicates in __all__"
    missing = [member for member in package.__all__ if not hasattr(package, member)]
    assert missing == []


@pytest.mark.parametrize("name", PACKAGES)
def test_public_names_are_exported(name):
    package = importlib.import_module(name)
    public = {
        member
        for member in _defined_names(package)
        if not member.startswith("_")
        and hasattr(package, member)
        and not isinstance(getattr(package, member), types.ModuleType)
    }
    unexported = sorted(public - set(package.__all__))
    assert not unexported, f"{name} defines public names missing from __all__: {unexported}"
