"""Packed comparison features in the store, end to end on both backends: a poll stores them
for the entries it indexes, a restarted pipeline finds a copy through them (its feature
cache empty), they are what the stored text gives, and a damaged row falls back to the
text. (Retention deletes them with their entries: ``test_retention.py``.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.dedup import index as index_module
from monitor.dedup.features import Features
from monitor.dedup.index import stored_features
from monitor.pipeline import Pipeline
from testbed.servers import HttpServer, Route
from tests.conftest import FROZEN_NOW
from tests.integration.test_pending_lookup import MINING, TRADE
from tests.support.clock import ManualClock
from tests.support.feeds import Item, rss

# A trimmed copy of TRADE, under another headline that matches too.
COPY = TRADE.rsplit(" Business groups", 1)[0]


def _feed(http_server: HttpServer, name: str, items: list[tuple[str, str, str]]) -> str:
    body = rss(
        [
            Item(title, link, text, FROZEN_NOW - timedelta(minutes=30 - index), link)
            for index, (title, link, text) in enumerate(items)
        ]
    )
    return http_server.add(f"/packed-{name}.xml", Route(body=body))


@pytest.fixture
def fingerprinted(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """The ids of the stored candidates fingerprinted from their text, as it happens."""
    found: list[int | None] = []
    fingerprint = index_module.fingerprint

    def counted(*args: Any, **kwargs: Any) -> Features:
        found.append(kwargs.get("doc_id"))
        return fingerprint(*args, **kwargs)

    monkeypatch.setattr(index_module, "fingerprint", counted)
    return found


def _rows(pipeline: Pipeline) -> dict[int, bytes]:
    with pipeline.store.engine.connect() as connection:
        found = connection.execute(sa.text("SELECT entry_id, data FROM entry_features"))
        return {int(entry_id): bytes(data) for entry_id, data in found}


def test_copies_are_found_through_packed_features_and_without_them(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    fingerprinted: list[int | None],
) -> None:
    first = _feed(
        http_server,
        "first",
        [
            ("Ottawa prepares the CUSMA joint review", "https://a.example/trade", TRADE),
            ("Quebec lithium miner to double output", "https://a.example/mining", MINING),
        ],
    )
    second = _feed(
        http_server,
        "second",
        [("CUSMA review talks set for Monterrey", "https://b.example/copy", COPY)],
    )
    third = _feed(
        http_server,
        "third",
        [("CUSMA review: a second round in Monterrey", "https://c.example/copy", TRADE)],
    )
    config = write_config(db_url, [first, second, third])
    clock = ManualClock(FROZEN_NOW)

    pipeline = open_pipeline(config, clock)
    asyncio.run(pipeline.poll([pipeline.config.feeds[0]]))
    store = pipeline.store
    (trade,) = store.find_entry_ids("https://a.example/trade")
    (mining,) = store.find_entry_ids("https://a.example/mining")
    # The matching story is indexed, so stored with its features; the unmatched one is
    # indexed under no key (dedup.index_unmatched: false), so nothing can find it.
    assert set(_rows(pipeline)) == {trade}
    assert store.entry_record(mining).indexed is False

    # What the bytes give back is what the stored text gives, field for field: here, since
    # these items have no boilerplate, no shared link and no publisher suffix (otherwise
    # the bytes hold what the parser worker fingerprinted, as the feature cache does).
    settings = pipeline.dedup
    with store.dedup_index(settings.scheme.tag) as index:
        (packed,) = index.documents([trade])
    with store.dedup_index() as index:
        (plain,) = index.documents([trade])
    assert packed.features is not None
    assert plain.features is None
    from_text = stored_features(plain, settings)
    for field in fields(Features):
        assert getattr(packed.features, field.name) == getattr(from_text, field.name), field
    pipeline.close()

    # A restarted pipeline (its feature cache empty) finds the copy through the bytes.
    pipeline = open_pipeline(config, clock)
    fingerprinted.clear()
    asyncio.run(pipeline.poll([pipeline.config.feeds[1]]))
    assert fingerprinted == []  # no candidate was fingerprinted from its text
    (copy,) = pipeline.store.find_entry_ids("https://b.example/copy")
    duplicate = pipeline.store.entry_record(copy).duplicate
    assert duplicate is not None
    assert duplicate.of_id == trade
    assert copy in _rows(pipeline)  # indexed (under its exact keys), so findable: kept too
    pipeline.close()

    # Damaged bytes: the text decides, as before there were any (the same text: found).
    with pipeline.store.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE entry_features SET data = :data WHERE entry_id = :id"),
            {"data": b"\x01\x02v1 damaged", "id": trade},
        )
    pipeline = open_pipeline(config, clock)
    with pipeline.store.dedup_index(settings.scheme.tag) as index:
        (document,) = index.documents([trade])
    assert document.features is None
    assert "Monterrey" in document.text
    fingerprinted.clear()
    asyncio.run(pipeline.poll([pipeline.config.feeds[2]]))
    assert trade in fingerprinted  # its text stood in for its bytes
    (again,) = pipeline.store.find_entry_ids("https://c.example/copy")
    duplicate = pipeline.store.entry_record(again).duplicate
    assert duplicate is not None
    assert duplicate.of_id == trade
