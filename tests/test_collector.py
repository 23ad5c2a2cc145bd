"""The collector's threshold in the processes that poll: raised, never lowered, and in
the parser processes too."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from monitor.collector import POLLING_GC_THRESHOLD, collect_less
from monitor.parse.pool import ParserPool


@pytest.fixture
def threshold() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


@pytest.mark.usefixtures("threshold")
def test_the_young_generation_waits_longer_and_the_others_keep_theirs() -> None:
    gc.set_threshold(700, 10, 10)
    collect_less()
    assert gc.get_threshold() == (POLLING_GC_THRESHOLD, 10, 10)


@pytest.mark.usefixtures("threshold")
def test_a_higher_threshold_is_left_as_it_is() -> None:
    gc.set_threshold(POLLING_GC_THRESHOLD * 5, 3, 4)
    collect_less()
    assert gc.get_threshold() == (POLLING_GC_THRESHOLD * 5, 3, 4)


def test_parser_processes_collect_less() -> None:
    async def run() -> tuple[int, int, int]:
        async with ParserPool(workers=1) as pool:
            found: tuple[int, int, int] = await pool.run("job", gc.get_threshold)
            return found

    assert asyncio.run(run())[0] == POLLING_GC_THRESHOLD
