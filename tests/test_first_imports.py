"""The imports a feed's first parse needs run in a thread, once; feeds that come while they
run wait for them, and go on in the order they came, never onto a half-imported module."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.pipeline import _IMPORTING, _imported

SLOW_MODULE = "import time\ntime.sleep(0.4)\nDONE = True\n"


@pytest.fixture
def slow_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The name of a module that takes 0.4 s to import, not imported yet."""
    name = f"monitor_test_slow_import_{tmp_path.name}"
    (tmp_path / f"{name}.py").write_text(SLOW_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_feeds_arriving_during_the_import_wait_for_it_in_order(slow_module: str) -> None:
    name = slow_module
    went_on: list[tuple[int, bool]] = []

    async def feed(number: int) -> None:
        await _imported([name])
        went_on.append((number, getattr(sys.modules[name], "DONE", False)))

    async def run() -> None:
        first = asyncio.create_task(feed(0))
        await asyncio.sleep(0.1)  # the import is under way: the module is in sys.modules
        assert name in sys.modules
        assert not getattr(sys.modules[name], "DONE", False)
        await asyncio.gather(first, feed(1), feed(2))
        await feed(3)  # imported: no thread, no wait

    asyncio.run(run())
    assert went_on == [(0, True), (1, True), (2, True), (3, True)]
    assert not _IMPORTING  # nothing left under way


def test_a_feed_cancelled_while_waiting_does_not_cancel_the_others_import(
    slow_module: str,
) -> None:
    name = slow_module

    async def run() -> bool:
        first = asyncio.create_task(_imported([name]))
        await asyncio.sleep(0.1)
        second = asyncio.create_task(_imported([name]))
        await asyncio.sleep(0)
        first.cancel()
        await second
        return bool(getattr(sys.modules[name], "DONE", False))

    assert asyncio.run(run())
    assert not _IMPORTING


def test_an_import_that_fails_fails_every_feed_waiting_and_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "monitor_test_broken_import"
    path = tmp_path / f"{name}.py"
    path.write_text("import time\ntime.sleep(0.2)\nraise RuntimeError('broken')\n", "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))

    async def run() -> list[BaseException | None]:
        return await asyncio.gather(_imported([name]), _imported([name]), return_exceptions=True)

    try:
        outcomes = asyncio.run(run())
        assert [str(outcome) for outcome in outcomes] == ["broken", "broken"]
        assert not _IMPORTING
        path.write_text("DONE = True\n", encoding="utf-8")
        asyncio.run(_imported([name]))  # tried again, not answered from the failure
        assert sys.modules[name].DONE
    finally:
        sys.modules.pop(name, None)
