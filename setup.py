"""Build hook: the rule engine's hot modules compiled to C with mypyc, where it can.

Everything else is in ``pyproject.toml``. The modules listed in
``monitor/rules/native.py`` (``NATIVE_MODULES``, and ``C_MODULES``, written in C as well as
in Python) are the matcher's per-entry path;
compiled, ``bench/rules.py`` runs about 1.4 times as fast. They stay plain Python: mypyc
compiles the same source, the pure modules remain the reference, and
``tests/rules/test_native.py`` holds the two equal.

mypyc runs only when the extensions are built (``build_ext``), not for pip's metadata
steps. The build falls back to pure Python - never an error - when no C compiler is at
hand, when mypyc is missing or fails, or when ``MONITOR_PURE_PYTHON=1`` is set. Its
record (``monitor/rules/_native_sources.txt``, see native.py) is written only once every
extension of this build is there, so that a failed build never vouches for older ones.
"""

from __future__ import annotations

import ast
import sys
import time
from pathlib import Path

from setuptools import Distribution, Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
RULES = HERE / "monitor" / "rules"
sys.path.insert(0, str(RULES))
from native import (  # noqa: E402  (beside the modules)
    BUILT,
    C_MODULES,
    DIGESTS,
    NATIVE_MODULES,
    PURE_ENV,
    file_digest,
    pure_asked,
)

sys.path.pop(0)


def _warn(message: str) -> None:
    print(f"monitor build: {message}; the rule engine stays pure Python", file=sys.stderr)


def _module_path(module: str) -> Path | None:
    for path in (
        HERE / f"{module.replace('.', '/')}.py",
        HERE / module.replace(".", "/") / "__init__.py",
    ):
        if path.exists():
            return path
    return None


def _compiled_against() -> list[Path]:
    """The compiled modules (and the C of those written in C) and every ``monitor`` module
    they import, at any depth: mypyc builds in the types these declare, so a change to any
    of them makes the build stale."""
    seen: dict[str, Path] = {f"{name}.c": RULES / f"{name}.c" for name in C_MODULES}
    waiting = [f"monitor.rules.{name}" for name in BUILT]
    while waiting:
        module = waiting.pop()
        path = _module_path(module)
        if module in seen or path is None:
            continue
        seen[module] = path
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                waiting += [alias.name for alias in node.names if alias.name.startswith("monitor")]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("monitor"):
                waiting.append(str(node.module))
                waiting += [f"{node.module}.{alias.name}" for alias in node.names]
    return sorted(seen.values())


def _records(command: build_ext) -> list[Path]:
    """Where the record goes: beside the sources (an editable install runs them there) and,
    for a wheel, into the build tree too (build_py copied the package before build_ext)."""
    places = [RULES / DIGESTS]
    if not command.inplace:
        places.append(Path(command.build_lib) / "monitor" / "rules" / DIGESTS)
    return places


def _record(command: build_ext, lines: list[str]) -> None:
    for place in _records(command):
        place.parent.mkdir(parents=True, exist_ok=True)
        place.write_text("\n".join(lines) + "\n", encoding="utf-8")


class _BuildRuleEngine(build_ext):
    """build_ext that asks mypyc for the extensions, builds them, then records the build."""

    def finalize_options(self) -> None:
        self._sources: list[str] = []
        # Before setuptools reads them: it prepares each extension in finalize_options.
        self.distribution.ext_modules = self._mypyc_extensions()
        super().finalize_options()

    def _mypyc_extensions(self) -> list[object]:
        if pure_asked():
            _warn(f"{PURE_ENV} is set")
            return []
        try:
            from mypyc.build import mypycify
        except ImportError:
            _warn("mypyc is not installed")
            return []
        # Digests of the sources as they are now, before mypyc reads them.
        self._sources = [
            f"source {path.relative_to(HERE).as_posix()} {file_digest(path)}"
            for path in _compiled_against()
        ]
        paths = [f"monitor/rules/{name}.py" for name in NATIVE_MODULES]
        # No config file: the project's [tool.mypy] loads plugins (pydantic) that the
        # isolated build environment lacks; missing imports are typed Any, which compiles.
        options = ["--config-file", "", "--ignore-missing-imports"]
        try:
            extensions = mypycify(options + paths, opt_level="3", debug_level="0")
        except (Exception, SystemExit) as error:  # a type error, or mypyc itself failing
            _warn(f"mypyc could not compile the rule engine ({error!r})")
            return []
        extensions += [
            Extension(
                f"monitor.rules.{name}", [f"monitor/rules/{name}.c"], extra_compile_args=["-O2"]
            )
            for name in C_MODULES
        ]
        for extension in extensions:
            # No C compiler: setuptools warns, builds nothing, and the sources run.
            extension.optional = True
        return extensions

    def run(self) -> None:
        for place in _records(self):
            place.unlink(missing_ok=True)
        if pure_asked():
            # Extensions of an earlier build left in the tree must not run.
            _record(self, [f"pure {PURE_ENV} was set at install"])
        started = time.time()
        super().run()
        if not self.extensions:
            return
        built = [Path(self.get_ext_fullpath(extension.name)) for extension in self.extensions]
        missing = [
            path.name for path in built if not path.exists() or path.stat().st_mtime < started
        ]
        if missing:
            _warn(f"the C compiler did not build {', '.join(missing)}")
            return
        groups = [e.name for e in self.extensions if e.name.endswith("__mypyc")]
        _record(self, [f"group {name}" for name in groups] + self._sources)


class _Platform(Distribution):
    """Always a platform build: the extensions are only known once build_ext runs."""

    def has_ext_modules(self) -> bool:
        return True


setup(distclass=_Platform, cmdclass={"build_ext": _BuildRuleEngine})
