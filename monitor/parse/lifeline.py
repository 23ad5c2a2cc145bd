"""Worker processes die with the process that started them, however it ends.

A daemon killed with SIGKILL (the OOM killer, ``kill -9``) runs no clean-up:
its parser workers would sit forever on their task queue, and the forkserver
and resource tracker with them, since each waits for the others to let go.
So every worker holds a *lifeline*: the read end of a pipe whose only write
end stays in the daemon. The kernel closes that end when the daemon dies, in
whatever way; a thread in the worker sees end-of-file and exits. Once the
workers are gone, the forkserver and the resource tracker see their own pipes
close and exit too.

On Linux the worker also asks for a parent-death signal: its parent is the
forkserver, and a forkserver killed on its own then takes its workers along.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from multiprocessing.connection import Connection

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def hold(lifeline: Connection) -> None:
    """Worker initializer: exit as soon as the daemon holding the other end is gone."""
    if sys.platform == "linux":
        _die_with_parent()
    threading.Thread(target=_watch, args=(lifeline,), name="lifeline", daemon=True).start()


def _watch(lifeline: Connection) -> None:
    try:
        while True:
            lifeline.recv_bytes()  # nothing is ever sent: this returns only at EOF
    except (EOFError, OSError):
        pass
    os._exit(1)  # no clean-up to run: the daemon that wanted the results is gone


def _die_with_parent() -> None:
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)  # the running program: libc is in it
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return  # the lifeline still holds
    # The parent may have died before the signal was asked for: then it never comes.
    if os.getppid() != parent:
        os._exit(1)
