"""``dedup.memory_index: true``: the key postings held in memory and caught up with the store
give the same stories as the key queries, on both databases, and a second replica sees the
first one's entries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from monitor.pipeline import Pipeline
from testbed.servers import HttpServer
from tests.integration import test_pending_lookup as pending


def _with_memory_index(write_config: Callable[..., Path]) -> Callable[..., Path]:
    def write(db_url: str, feeds: list[str], dedup: dict[str, Any]) -> Path:
        return write_config(db_url, feeds, dedup={**dedup, "memory_index": True})

    return write


@pytest.mark.parametrize(
    "dedup", [pending.INDEXED, pending.EVERYWHERE], ids=["index_unmatched", "lookup_unmatched"]
)
def test_the_memory_index_groups_as_the_key_queries_do(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    dedup: dict[str, bool],
) -> None:
    # Every assertion of the key-query test, with the postings in memory.
    pending.test_copies_that_could_reach_a_digest_are_caught_without_the_unmatched_lookups(
        db_url, http_server, _with_memory_index(write_config), open_pipeline, dedup
    )


def test_the_memory_index_skips_unindexed_entries_as_the_key_queries_do(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    pending.test_unindexed_unmatched_entries_are_looked_up_nowhere_and_matching_copies_still_caught(
        db_url, http_server, _with_memory_index(write_config), open_pipeline
    )


def test_a_replica_sees_the_entries_another_stored_after_its_index_was_built(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    opened: list[Pipeline] = []

    def two_replicas(config: Path, clock: Any) -> Pipeline:
        first, second = open_pipeline(config, clock), open_pipeline(config, clock)
        assert first.dedup.memory_index
        assert second.dedup.memory_index
        opened.extend((first, second))
        turn = iter(range(1_000))
        # Feeds polled in turn by one replica and the other: each copy is judged by the
        # replica that did not store its original.
        original_poll = Pipeline.poll

        async def poll(self: Pipeline, feeds: Any = None, **kwargs: Any) -> Any:
            replica = opened[next(turn) % 2]
            return await original_poll(replica, feeds, **kwargs)

        first.poll = poll.__get__(first)  # type: ignore[method-assign]
        return first

    pending.test_copies_that_could_reach_a_digest_are_caught_without_the_unmatched_lookups(
        db_url, http_server, _with_memory_index(write_config), two_replicas, pending.EVERYWHERE
    )
    assert len(opened) == 2
