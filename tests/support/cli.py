"""Run the `monitor` command as a user would: a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import WEBHOOK_SECRET


def monitor(
    config: Path | None, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``monitor ARGS --config CONFIG`` (no --config when ``config`` is None)."""
    command = [sys.executable, "-m", "monitor", *args]
    if config is not None:
        command += ["--config", str(config)]
    env = {**os.environ, "TEST_WEBHOOK_SECRET": WEBHOOK_SECRET}
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
