"""Layering gates (issue #15), read from the source with ``ast``, nothing imported.

* ``monitor.config`` composes the stages' settings models: nothing it imports,
  directly or through other modules, at package level or inside a function,
  imports ``monitor.config`` back.
* Only the composing layer (the CLI, the pipeline, the scheduler) imports
  ``monitor.config``; a stage, or any other module, is handed its settings model
  and imports that model's own module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"
CONFIG = "monitor.config"
COMPOSERS = {"monitor.__main__", "monitor.cli", "monitor.pipeline", "monitor.schedule"}
"""The modules that see the whole configuration and hand each stage its part."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(
    tree: ast.AST, typing_only: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement, anywhere (a function's lazy import too), and whether it sits
    under ``if TYPE_CHECKING:`` (read by the type checker only, never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, typing_only
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from _import_nodes(ast.Module(body=[child], type_ignores=[]), True)
            for child in node.orelse:
                yield from _import_nodes(ast.Module(body=[child], type_ignores=[]), typing_only)
        else:
            yield from _import_nodes(node, typing_only)


def _with_packages(name: str) -> set[str]:
    """Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def imports(module: str, typing_only: bool = False) -> set[str]:
    """The project modules ``module`` imports; with ``typing_only`` those under
    ``if TYPE_CHECKING:`` count too."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = imports_in(path.read_text(encoding="utf-8"), package, typing_only)
    found.discard(module)
    return found


def imports_in(source: str, package: str, typing_only: bool = False) -> set[str]:
    """The project modules a module of ``package`` with this ``source`` imports."""
    found: set[str] = set()
    for node, checking in _import_nodes(ast.parse(source)):
        if checking and not typing_only:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # ``from pkg import name`` imports the module pkg.name when there is one
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for target in targets:
            found |= {name for name in _with_packages(target) if name in MODULES}
    return found


def reached_from(start: str) -> set[str]:
    """Every project module that importing ``start`` can load, lazy imports included."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        module = todo.pop()
        for target in imports(module):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    seen.discard(start)
    return seen


def test_the_reader_sees_package_level_lazy_and_relative_imports() -> None:
    """The gates below are only as good as this reading of imports."""
    config = imports(CONFIG)
    assert {"monitor.fetch.settings", "monitor.fetch", "monitor.errors"} <= config
    assert "monitor.opml" in config  # imported inside a function
    assert "monitor.dedup.settings" in config  # likewise
    assert "monitor.rules.settings" in imports("monitor.rules")  # a package's __init__
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import settings\n"
        "from ..errors import RuleError\n"
        "if TYPE_CHECKING:\n"
        "    from monitor.config import Config\n"
        "def f():\n"
        "    import monitor.opml\n"
    )
    expected = {"monitor", "monitor.rules", "monitor.rules.settings", "monitor.errors"}
    assert imports_in(source, "monitor.rules") == expected | {"monitor.opml"}
    assert CONFIG in imports_in(source, "monitor.rules", typing_only=True)


def test_nothing_config_imports_imports_config_back() -> None:
    cycles = sorted(module for module in reached_from(CONFIG) if CONFIG in imports(module))
    assert not cycles, f"{CONFIG} imports these, and they import it back: {cycles}"


@pytest.mark.parametrize("module", sorted(set(MODULES) - COMPOSERS - {CONFIG}))
def test_only_the_composing_layer_imports_config(module: str) -> None:
    """A stage receives its settings model; it imports the model's module, not the config
    (not even for annotations)."""
    assert CONFIG not in imports(module, typing_only=True), (
        f"{module} imports {CONFIG}; import the settings model from its stage's own module "
        f"(e.g. monitor.fetch.settings) or take a Protocol of what it reads; a module that "
        f"composes the whole configuration, as the CLI does, belongs in COMPOSERS"
    )
