"""The C allocator in the processes that poll: two arenas, large blocks given back at once.

glibc's malloc, left as it is, keeps more of a poll's memory than the poll holds (#14:
``bench/poll.py``'s whole poller peaked at 285-295 MB PSS; 260 MB with both changes below,
the polling process's own share 190 -> 164 MB, the cycles as fast):

* A thread that allocates while another holds the arena gets one of its own, up to eight
  per core, and memory freed in one arena serves only that arena. A poll's threads (the
  downloads, the writer, the handing back of parsed results) each keep their own.
  Two arenas.
* A block over the mmap threshold (128 KiB) is mapped, and unmapped when freed. But the
  first such block freed raises the threshold to its own size (up to 32 MiB), after which
  large blocks (bodies, parsed documents, batches of results) come from the heap, which
  gives memory back only from its top. A fixed threshold keeps them mapped.

Only with glibc (most Linux distributions; not Alpine's musl, macOS or Windows), and only
where the environment has not set these itself (``MALLOC_ARENA_MAX``,
``MALLOC_MMAP_THRESHOLD_``: glibc reads those at start-up and they win). Applied as a
polling command starts, before it starts threads.
"""

from __future__ import annotations

import ctypes
import os

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD_BYTES = 128 * 1024


def glibc() -> bool:
    """Whether this process's C library is glibc."""
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError):  # no such name here: not glibc
        return False


def tune_allocator() -> bool:
    """Set :data:`ARENAS` and a fixed :data:`MMAP_THRESHOLD_BYTES` (those the environment
    leaves unset); True when glibc took every one it was given."""
    if not glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    took = True
    if "MALLOC_ARENA_MAX" not in os.environ:
        took &= mallopt(M_ARENA_MAX, ARENAS) == 1
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        took &= mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    return took
