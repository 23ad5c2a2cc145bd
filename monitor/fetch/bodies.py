"""Turns for large bodies: how much of a poll cycle's memory downloads may hold.

A body is read into memory, up to ``fetch.max_body_bytes`` decoded (10 MB), and
``fetch.concurrency`` of them are read at once, so without a turn a few feeds that
stream without end or decompress into too much can hold that many times the cap
together (#14: ``bench/poll.py``'s second cycle read four such bodies at once, 39 MB of
them; the worst case is ``concurrency`` times the cap, 200 MB by default). Past :data:`LARGE_BODY_BYTES` a body waits for one of
``fetch.max_large_bodies`` turns before it reads on; a news feed stays well below it
and never waits. A waiting body's deadline keeps running: a turn is not a way round it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

LARGE_BODY_BYTES = 1 << 20
"""Decoded size past which a body needs a turn to read on (1 MiB)."""


class LargeBodies:
    """At most ``turns`` bodies past :data:`LARGE_BODY_BYTES` read at once, on one event loop.

    ``peak`` is the most that read at once (for tests and benchmarks).
    """

    def __init__(self, turns: int) -> None:
        self._free = asyncio.Semaphore(turns)
        self.reading = 0
        self.peak = 0

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        async with self._free:
            self.reading += 1
            self.peak = max(self.peak, self.reading)
            try:
                yield
            finally:
                self.reading -= 1
