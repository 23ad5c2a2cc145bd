"""Failpoints: named places where a crash test can kill the process on purpose.

``MONITOR_FAILPOINTS=after-send`` (comma-separated names) makes the process
SIGKILL itself when it reaches that point: no cleanup, no flush, exactly as a
power cut or an OOM kill would. The crash tests use this to prove that nothing
is lost or doubled beyond the one send in flight. Unset, a failpoint costs one
dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "MONITOR_FAILPOINTS"


def failpoint(name: str) -> None:
    """Die here, at once, if ``name`` is listed in ``$MONITOR_FAILPOINTS``."""
    armed = os.environ.get(ENV)
    if armed and name in armed.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
