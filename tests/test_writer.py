"""The pipeline's writer thread: group commits, failures alone, nothing seen before a commit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from monitor.errors import StoreError
from monitor.store.feeds import PollRecord
from monitor.store.store import Store
from monitor.writer import Batched, Done, Writer

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
URLS = [f"https://news{n}.example/feed.xml" for n in range(6)]


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    opened.sync_feeds((url, url, timedelta(minutes=15)) for url in URLS)
    yield opened
    opened.close()


def polled(url: str, etag: str) -> PollRecord:
    return PollRecord(NOW, NOW + timedelta(minutes=15), None, etag, None)


def test_jobs_queued_behind_a_running_one_share_its_commit(store: Store) -> None:
    gate = threading.Event()
    transactions: list[int] = []

    def job(url: str) -> Done[str]:
        if url == URLS[0]:
            gate.wait(5)  # hold the writer until the other jobs are queued
        store.record_poll(url, polled(url, "e1"))
        transactions.append(id(store._local.session))
        return Done(url)

    async def main() -> list[str]:
        async with Writer(store) as writer:
            first = asyncio.ensure_future(writer.run(lambda: job(URLS[0])))
            others = [asyncio.ensure_future(writer.run(lambda u=u: job(u))) for u in URLS[1:]]
            await asyncio.sleep(0.05)
            gate.set()
            return [await first, *[await task for task in others]]

    assert asyncio.run(main()) == URLS
    assert len(set(transactions)) == 1  # one session: one commit for all six
    assert all(store.feed_state(url).etag == "e1" for url in URLS)


def test_a_failing_job_fails_alone_and_its_group_is_redone(store: Store) -> None:
    gate = threading.Event()
    runs: list[str] = []
    after: list[str] = []
    rollbacks: list[int] = []

    def job(url: str) -> Done[str]:
        if url == URLS[0]:
            gate.wait(5)
        runs.append(url)
        store.record_poll(url, polled(url, "e2"))
        if url == URLS[2]:
            raise StoreError("this feed's write failed")
        return Done(url, lambda: after.append(url))

    async def main() -> list[str | BaseException]:
        async with Writer(store, on_rollback=lambda: rollbacks.append(1)) as writer:
            tasks = [asyncio.ensure_future(writer.run(lambda u=u: job(u))) for u in URLS]
            await asyncio.sleep(0.05)
            gate.set()
            return list(await asyncio.gather(*tasks, return_exceptions=True))

    results = asyncio.run(main())
    assert isinstance(results[2], StoreError)
    assert [r for n, r in enumerate(results) if n != 2] == [u for n, u in enumerate(URLS) if n != 2]
    assert rollbacks  # the owner was told to forget what the rolled-back group taught it
    assert sorted(after) == sorted(u for n, u in enumerate(URLS) if n != 2)  # after commit only
    assert runs.count(URLS[2]) == 2  # once in the group, once alone
    assert store.feed_state(URLS[2]).etag is None  # its write was rolled back
    assert all(store.feed_state(u).etag == "e2" for n, u in enumerate(URLS) if n != 2)


def test_results_are_handed_back_only_after_the_commit(store: Store) -> None:
    seen_by_others: list[str | None] = []

    def job() -> Done[None]:
        store.record_poll(URLS[0], polled(URLS[0], "e3"))
        # Another connection must not see the write yet: it is not committed.
        with store.engine.connect() as other:
            etag = other.execute(
                sa.text("SELECT etag FROM feeds WHERE url = :u"), {"u": URLS[0]}
            ).scalar_one()
        seen_by_others.append(etag)
        return Done(None)

    async def main() -> str | None:
        async with Writer(store) as writer:
            await writer.run(job)
        with store.engine.connect() as other:
            value = other.execute(
                sa.text("SELECT etag FROM feeds WHERE url = :u"), {"u": URLS[0]}
            ).scalar_one()
            return str(value) if value is not None else None

    assert asyncio.run(main()) == "e3"
    assert seen_by_others == [None]


def test_store_transaction_is_all_or_nothing(store: Store) -> None:
    def two_writes_then_a_failure() -> None:
        with store.transaction():
            store.record_poll(URLS[0], polled(URLS[0], "lost"))
            store.record_poll(URLS[1], polled(URLS[1], "lost"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        two_writes_then_a_failure()
    assert store.feed_state(URLS[0]).etag is None
    assert store.feed_state(URLS[1]).etag is None


def test_the_writer_refuses_work_when_not_started(store: Store) -> None:
    with pytest.raises(RuntimeError, match="not running"):
        asyncio.run(Writer(store).run(lambda: Done(1)))


def test_a_caller_that_stops_waiting_does_not_stop_the_writer(store: Store) -> None:
    gate = threading.Event()
    ran: list[str] = []

    def job(name: str) -> Done[str]:
        if name == "first":
            gate.wait(5)
        ran.append(name)
        return Done(name)

    async def main() -> str:
        async with Writer(store) as writer:
            first = asyncio.ensure_future(writer.run(lambda: job("first")))
            abandoned = asyncio.ensure_future(writer.run(lambda: job("abandoned")))
            await asyncio.sleep(0.05)
            abandoned.cancel()  # its caller gave up while the job was still queued
            await asyncio.sleep(0.05)  # the cancellation reaches the writer's side
            gate.set()
            await first
            return await writer.run(lambda: job("after"))

    assert asyncio.run(main()) == "after"
    assert ran == ["first", "after"]


class Fatal(BaseException):
    """Not a job's own failure (think MemoryError's cousins): the writer cannot go on."""


def test_a_fatal_error_fails_the_waiting_jobs_and_closes_the_writer(store: Store) -> None:
    def fatal() -> Done[None]:
        raise Fatal

    async def main() -> None:
        async with Writer(store) as writer:
            with pytest.raises(Fatal):
                await writer.run(fatal)
            writer._thread.join(5)  # type: ignore[union-attr]
            with pytest.raises(RuntimeError, match="not running"):
                await writer.run(lambda: Done(1))

    asyncio.run(main())


def test_no_job_is_left_waiting_once_the_writer_closes(store: Store) -> None:
    async def main() -> None:
        writer = Writer(store)
        async with writer:
            assert await writer.run(lambda: Done(1)) == 1
        with pytest.raises(RuntimeError, match="not running"):
            await writer.run(lambda: Done(2))

    asyncio.run(main())


# --- Batched: items handed in one at a time, written together ------------------------


def test_items_added_while_a_batch_is_written_go_together_in_the_next(store: Store) -> None:
    gate = threading.Event()
    batches: list[list[str]] = []

    def record(urls: list[str]) -> list[str]:
        if not batches:
            gate.wait(5)  # the first batch holds the writer while the others queue up
        batches.append(urls)
        missing = store.record_unchanged([(url, polled(url, "e2")) for url in urls])
        return ["missing" if url in missing else "stored" for url in urls]

    async def main() -> list[str]:
        async with Writer(store) as writer:
            batched = Batched(writer, record)
            first = asyncio.ensure_future(batched.add(URLS[0]))
            await asyncio.sleep(0.05)
            rest = [
                asyncio.ensure_future(batched.add(u)) for u in [*URLS[1:], "https://x.example/"]
            ]
            await asyncio.sleep(0.05)
            gate.set()
            return [await first, *[await task for task in rest]]

    assert asyncio.run(main()) == ["stored"] * len(URLS) + ["missing"]
    assert batches == [URLS[:1], [*URLS[1:], "https://x.example/"]]
    assert all(store.feed_state(url).etag == "e2" for url in URLS)


def test_a_failing_batch_fails_each_of_its_items_and_the_next_batch_runs(store: Store) -> None:
    gate = threading.Event()

    def record(items: list[str]) -> list[str]:
        if items == ["first"]:
            gate.wait(5)
        if "bad" in items:
            raise StoreError("the database said no")
        return [item.upper() for item in items]

    async def main() -> tuple[str, list[BaseException | str], str]:
        async with Writer(store) as writer:
            batched = Batched(writer, record)
            first = asyncio.ensure_future(batched.add("first"))
            await asyncio.sleep(0.05)
            failing = [asyncio.ensure_future(batched.add(item)) for item in ("ok", "bad")]
            await asyncio.sleep(0.05)
            gate.set()
            results = await asyncio.gather(*failing, return_exceptions=True)
            return await first, results, await batched.add("after")

    first, failed, after = asyncio.run(main())
    assert first == "FIRST"
    assert after == "AFTER"
    assert all(isinstance(result, StoreError) for result in failed)


def test_an_item_whose_caller_stopped_waiting_is_left_out_of_its_batch(store: Store) -> None:
    gate = threading.Event()
    batches: list[list[str]] = []

    def record(items: list[str]) -> list[str]:
        if items == ["first"]:
            gate.wait(5)
        batches.append(items)
        return items

    async def main() -> None:
        async with Writer(store) as writer:
            batched = Batched(writer, record)
            first = asyncio.ensure_future(batched.add("first"))
            await asyncio.sleep(0.05)
            abandoned = asyncio.ensure_future(batched.add("abandoned"))
            kept = asyncio.ensure_future(batched.add("kept"))
            await asyncio.sleep(0.05)
            abandoned.cancel()  # its caller gave up while the first batch was being written
            gate.set()
            assert (await first, await kept) == ("first", "kept")

    asyncio.run(main())
    assert batches == [["first"], ["kept"]]
