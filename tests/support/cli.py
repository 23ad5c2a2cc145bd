"""Run the `monitor` command as a user would: a real subprocess."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import WEBHOOK_SECRET

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _command(config: Path | None, args: tuple[str, ...]) -> list[str]:
    command = [sys.executable, "-m", "monitor", *args]
    if config is not None:
        command += ["--config", str(config)]
    return command


def _environment(env: dict[str, str] | None, drop: tuple[str, ...]) -> dict[str, str]:
    merged = {**os.environ, "TEST_WEBHOOK_SECRET": WEBHOOK_SECRET, **(env or {})}
    for name in drop:
        merged.pop(name, None)
    return merged


def monitor(
    config: Path | None,
    *args: str,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    drop_env: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """``monitor ARGS --config CONFIG`` (no --config when ``config`` is None), with
    ``env`` added to the environment and the variables in ``drop_env`` removed."""
    return subprocess.run(
        _command(config, args),
        capture_output=True,
        text=True,
        env=_environment(env, drop_env),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def monitor_on_terminal(
    config: Path | None, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> tuple[int, list[str]]:
    """Run ``monitor`` with stdout and stderr on one pseudo-terminal, as a person sees it:
    its exit status, and the screen's lines with colours and cursor moves taken out
    (a carriage return starts the line afresh, as it does on the screen)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        _command(config, args),
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=_environment({"COLUMNS": "120", "TERM": "xterm", **(env or {})}, ()),
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is gone
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    code = process.wait(timeout=timeout)
    screen = _ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    lines = [line.rsplit("\r", 1)[-1] for line in screen.replace("\r\n", "\n").split("\n")]
    return code, [line for line in lines if line.strip()]


def python(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -c SCRIPT ARGS`` with this interpreter: a test's own program around monitor's
    code (what a command loaded, say), run as a process of its own."""
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
