"""Build hook: the rule engine's hot modules compiled to C with mypyc, where it can.

Everything else is in ``pyproject.toml``. The modules listed in
``monitor/rules/native.py`` (:data:`NATIVE_MODULES`) are the matcher's per-entry path;
compiled, ``bench/rules.py`` runs about one and a half times as fast. They stay plain
Python: mypyc compiles the same source, the pure modules remain the reference, and
``tests/rules/test_native.py`` holds the two equal.

The build falls back to pure Python - with a warning, never an error - when no C
compiler is at hand, when mypyc is missing, or when ``MONITOR_PURE_PYTHON=1`` is set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "monitor" / "rules"))
from native import DIGESTS, NATIVE_MODULES, source_digest  # noqa: E402  (the list lives beside the modules)

sys.path.pop(0)


def _warn(message: str) -> None:
    print(f"monitor build: {message}; the rule engine stays pure Python", file=sys.stderr)


class _Parallel(build_ext):
    """build_ext over every core: mypyc writes one C file per module."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1


def _extensions() -> list[object]:
    if os.environ.get("MONITOR_PURE_PYTHON", "") not in ("", "0"):
        _warn("MONITOR_PURE_PYTHON is set")
        _record(["pure MONITOR_PURE_PYTHON was set at install"])
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _warn("mypyc is not installed")
        return []
    paths = [f"monitor/rules/{name}.py" for name in NATIVE_MODULES]
    # No config file: the project's [tool.mypy] loads plugins (pydantic) that the isolated
    # build environment does not have; missing imports are typed Any, which compiles fine.
    options = ["--config-file", "", "--ignore-missing-imports", "--no-warn-no-return"]
    try:
        extensions = mypycify(options + paths, opt_level="3", debug_level="0", multi_file=True)
    except (Exception, SystemExit) as error:  # a type error or a crash of mypyc itself
        _warn(f"mypyc could not compile the rule engine ({error!r})")
        return []
    for extension in extensions:
        # No C compiler: setuptools warns and the pure modules are used.
        extension.optional = True  # type: ignore[attr-defined]
    _record([f"{name} {source_digest(HERE, name)}" for name in NATIVE_MODULES])
    return extensions


def _record(lines: list[str]) -> None:
    """Write which sources were compiled (``monitor/rules/_native_sources.txt``), so that
    an edited source is run as Python rather than through a stale build (native.py), or
    that the installer asked for none to be."""
    (HERE / "monitor" / "rules" / DIGESTS).write_text("\n".join(lines) + "\n")


setup(ext_modules=_extensions(), cmdclass={"build_ext": _Parallel})
