"""Which rule-engine modules the build compiles with mypyc, and whether this process runs them.

``setup.py`` compiles :data:`NATIVE_MODULES` to C extensions with mypyc when a C
compiler is at hand (the matcher's per-entry path: folding, the index, evaluation,
scoring), and :data:`C_MODULES` from their hand-written C. An
extension sits beside its source, and Python imports it in preference to the ``.py``.
That is only right while the source is the one it was built from, so the build writes
each source's digest (:data:`DIGESTS`), and before any of these modules is imported
:func:`choose` checks them:

* every source as built -> the compiled modules run;
* any source edited since (a developer's working tree), the compiled modules' own or
  one they take types from, or the build unfinished -> the sources run, all of them:
  compiled modules call each other directly, so a mix would run stale code;
* ``MONITOR_PURE_PYTHON=1`` -> the sources run (the reference, for tests and for
  telling a compiled-code fault from a logic one).

Results never depend on the choice (``tests/rules/test_native.py`` holds the two
equal); only the speed does. This file is also read by ``setup.py`` as a plain script
(it imports nothing from ``monitor``).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from types import ModuleType

NATIVE_MODULES = (
    "fold",
    "document",
    "fields",
    "index",
    "evaluate",
    "score",
    "focus",
    "engine",
)
"""Modules of :mod:`monitor.rules` that the build compiles, as one group."""

C_MODULES = ("scan",)
"""Modules of :mod:`monitor.rules` written twice, in Python (the reference) and in C
(``<name>.c`` beside it), which the build compiles with the others: all or none."""

BUILT = NATIVE_MODULES + C_MODULES
"""Every module the build compiles to an extension."""

DIGESTS = "_native_sources.txt"
"""Written by the build beside the modules once every extension is built, one fact a line:
``group <module>`` (mypyc's runtime library, which the compiled modules load) and
``source <path> <sha256>`` for each module the build compiled or took types from; or
``pure <why>`` when the installer asked for pure Python."""

PURE_ENV = "MONITOR_PURE_PYTHON"

COMPILED = "compiled (mypyc and C)"
"""What :func:`choose` says when the compiled modules run."""

_HERE = Path(__file__).resolve().parent


def pure_asked() -> bool:
    """Whether :data:`PURE_ENV` asks for the sources (the build reads it too)."""
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def file_digest(path: Path) -> str:
    """The SHA-256 of a source file, as the build records it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _compiled(name: str) -> bool:
    """Whether an extension module for ``name`` sits beside its source."""
    return any(
        (_HERE / f"{name}{suffix}").exists() for suffix in importlib.machinery.EXTENSION_SUFFIXES
    )


def _unchanged(root: Path, path: str, digest: str) -> bool:
    try:
        return file_digest(root / path) == digest
    except OSError:  # gone, or shipped as bytecode only
        return False


def _why_pure() -> str | None:
    """Why the sources must run instead of the compiled modules; ``None`` when they need not
    (compiled and current, or nothing compiled at all)."""
    if pure_asked():
        return f"{PURE_ENV} is set"
    if not any(_compiled(name) for name in BUILT):
        return None
    try:
        lines = (_HERE / DIGESTS).read_text().splitlines()
        facts = [fact for line in lines if (fact := line.split())]
    except OSError:
        return f"{DIGESTS} is missing: the last build did not finish"
    if any(fact[:1] == ["pure"] for fact in facts):  # an earlier build's extensions, left over
        return "installed as pure Python"
    for name in BUILT:
        if not _compiled(name):
            return f"{name} was not compiled"
    groups = [fact[1] for fact in facts if fact[0] == "group" and len(fact) == 2]
    sources = [fact[1:] for fact in facts if fact[0] == "source" and len(fact) == 3]
    if not groups or not sources:
        return f"{DIGESTS} does not say what was compiled"
    for group in groups:
        if importlib.util.find_spec(group) is None:
            return f"mypyc's runtime library {group} is missing"
    root = _HERE.parent.parent
    for path, digest in sources:
        if not _unchanged(root, path, digest):
            return f"{path} changed since it was compiled"
    return None


class _Sources(importlib.abc.MetaPathFinder):
    """Finds the ``.py`` source of each compiled module, ahead of the extension."""

    def __init__(self, names: Sequence[str]) -> None:
        self._paths = {f"monitor.rules.{name}": _HERE / f"{name}.py" for name in names}

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        source = self._paths.get(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


@cache
def choose() -> str:
    """Decide, once a process and before the modules are imported, whether the compiled
    modules run. Returns how this process runs the rule engine (``monitor --version``
    prints it)."""
    why = _why_pure()
    if why is not None:
        sys.meta_path.insert(0, _Sources(BUILT))
        return f"pure Python ({why})"
    if _compiled(NATIVE_MODULES[0]):
        return COMPILED
    return "pure Python (not compiled when installed: no C compiler or mypyc)"
