"""The C allocator's settings in the processes that poll (:mod:`monitor.allocator`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from monitor.allocator import glibc

# Frees forty large blocks after a bigger one has raised glibc's dynamic mmap threshold,
# with a block kept above them so the heap cannot give them back from its top; prints
# how many MB the process still holds of them (resident set after minus before).
PROBE = """
import os, sys
from monitor.allocator import tune_allocator
if sys.argv[1] == "tuned":
    assert tune_allocator()
page = os.sysconf("SC_PAGE_SIZE")
def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * page
big = b"x" * (16 << 20)
del big  # its size is now the threshold, untuned
before = resident()
blocks = [b"y" * (512 << 10) for _ in range(40)]
fence = b"z" * (200 << 10)
del blocks
print((resident() - before) / 1e6)
"""


def _kept_mb(mode: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=env, check=True
    )
    return float(done.stdout)


@pytest.mark.skipif(not glibc(), reason="the settings are glibc's; elsewhere nothing changes")
def test_large_blocks_freed_go_back_to_the_system_at_once() -> None:
    assert _kept_mb("tuned") < 5
    assert _kept_mb("as-is") > 15  # what the setting changes: glibc's own default keeps them


def test_the_polling_commands_tune_the_allocator_before_they_load_anything() -> None:
    """Before the config, the pipeline and their threads: a thread that took an arena of
    its own keeps it."""
    import inspect

    from monitor import cli

    for command in (cli.cmd_poll, cli.cmd_run):
        source = inspect.getsource(command)
        assert "tune_allocator()" in source, command.__name__
        assert source.index("tune_allocator()") < source.index("_config(args)"), command.__name__
