"""A fresh install, as a user's machine or the Docker image gets it.

The test virtualenv has the test extras and whatever else the developer installed; a user's has
only what pyproject.toml declares. So: copy what the Dockerfile's build stage copies, install it
(not editable, no extras) into a virtualenv of its own, and run the CLI on the shipped config.
A module imported but never declared fails here with ModuleNotFoundError.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def build_stage_sources() -> list[str]:
    """The paths the Dockerfile's first stage copies into the image before `pip install .`."""
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    build_stage = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1]
    sources: list[str] = []
    for line in re.findall(r"^COPY (?!--from)(.+)$", build_stage, re.MULTILINE):
        sources += line.split()[:-1]
    return sources


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=500, check=False
    )


@pytest.mark.timeout(600)
def test_a_fresh_non_editable_install_runs_the_cli_on_the_shipped_config(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    sources = build_stage_sources()
    assert "pyproject.toml" in sources
    assert any(s.rstrip("/") == "monitor" for s in sources)
    for name in sources:
        path = REPO / name.rstrip("/")
        if path.is_dir():
            # A developer's build of the rule engine stays out, as .dockerignore keeps it.
            ignored = shutil.ignore_patterns("__pycache__", "*.so", "_native_sources.txt")
            shutil.copytree(path, source / path.name, ignore=ignored)
        else:
            shutil.copy2(path, source / path.name)

    # Nothing of the test virtualenv may leak in: no PYTHONPATH, a venv without site-packages.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    home = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(home)
    python = str(home / "bin" / "python")
    installed = run([python, "-m", "pip", "install", "-q", str(source)], tmp_path, env)
    assert installed.returncode == 0, installed.stderr[-3000:]

    # The CLI from the installed package, run away from the checkout: nothing resolves
    # through the current folder.
    work = tmp_path / "elsewhere"
    work.mkdir()
    env["MONITOR_DATABASE_URL"] = f"sqlite:///{work / 'monitor.db'}"
    monitor = str(home / "bin" / "monitor")
    helped = run([monitor, "--help"], work, env)
    assert helped.returncode == 0, helped.stderr
    assert "poll" in helped.stdout
    assert "run" in helped.stdout

    # With a C compiler at hand (the Dockerfile's build stage installs gcc), the install
    # compiles the rule engine (setup.py), and the installed CLI runs it.
    version = run([monitor, "--version"], work, env)
    assert version.returncode == 0, version.stderr
    if shutil.which(env.get("CC", "cc").split()[0]) is not None:
        assert version.stdout.endswith("rule engine: compiled (mypyc and C)\n"), version.stdout

    checked = run([monitor, "--config", str(REPO / "config" / "monitor.yaml"), "check"], work, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("ok: ")
    assert "Traceback" not in checked.stderr

    # Every module loads with only the declared dependencies (Alembic's migration scripts run
    # inside Alembic, not on import).
    every_module = (
        "import importlib, pkgutil, monitor\n"
        "for m in pkgutil.walk_packages(monitor.__path__, 'monitor.'):\n"
        "    if not m.name.startswith('monitor.store.migrations'):\n"
        "        importlib.import_module(m.name)\n"
    )
    imported = run([python, "-c", every_module], work, env)
    assert imported.returncode == 0, imported.stderr[-3000:]

    # The package is the installed copy, not the checkout.
    where = run([python, "-c", "import monitor; print(monitor.__file__)"], work, env)
    assert str(home) in where.stdout, where.stdout + where.stderr
    assert sys.prefix != str(home)
