"""Poll against a real HTTP server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.pipeline import Pipeline
from testbed.servers import HttpServer, Request, Route
from tests.conftest import FROZEN_NOW
from tests.support.feeds import Item, atom, rss

HOUR = timedelta(hours=1)


def recent_items() -> list[Item]:
    return [
        Item(
            "Canada and Mexico set dates for USMCA review talks",
            "https://news.example/usmca-review?utm_source=rss",
            "Ministers from Ottawa and Mexico City agreed on a calendar.",
            FROZEN_NOW - 2 * HOUR,
            "a-1",
        ),
        Item(
            "Local bakery wins award",
            "https://news.example/bakery",
            "Nothing about trade.",
            FROZEN_NOW - HOUR,
            "a-2",
        ),
        Item(
            "Weather in New Mexico and Canada",
            "https://news.example/weather",
            "Snow in New Mexico; rain in Canada.",
            FROZEN_NOW - HOUR,
            "a-3",
        ),
    ]


def test_poll_stores_then_conditional_get_stores_nothing(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    rss_url = http_server.add("/rss.xml", Route(body=rss(recent_items())))
    atom_url = http_server.add(
        "/atom.xml",
        Route(body=atom(recent_items()[:1]), content_type="application/atom+xml", etag=False),
    )
    pipeline = open_pipeline(write_config(db_url, [rss_url, atom_url]))

    first = asyncio.run(pipeline.poll())
    assert [f.status for f in first.feeds] == ["updated", "updated"]
    assert first.new == 4
    # USMCA item matches in both feeds; the "New Mexico" item is excluded by the watch.
    assert first.matched == 2
    assert pipeline.store.entry_count() == 4
    # Both feeds carry the same story (same canonical link): one item, the other source as "also".
    # (Both are polled at once, so either may be the first.)
    (story,) = pipeline.store.pending_items("desk")
    other = "Feed 1" if story.entry.feed_name == "Feed 0" else "Feed 0"
    assert story.also == (other,)

    second = asyncio.run(pipeline.poll())
    assert [f.status for f in second.feeds] == ["not_modified", "not_modified"]
    assert second.new == 0
    assert pipeline.store.entry_count() == 4
    rss_requests = http_server.requests_to("/rss.xml")
    assert "if-none-match" not in rss_requests[0].headers
    assert rss_requests[1].headers["if-none-match"].startswith('"')
    atom_requests = http_server.requests_to("/atom.xml")
    assert atom_requests[1].headers["if-modified-since"] == "Sat, 21 Nov 2026 08:00:00 GMT"
    assert "monitor/" in rss_requests[0].headers["user-agent"]


def test_changed_feed_stores_only_new_items(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    items = recent_items()
    route = Route(body=rss(items[:2]))
    url = http_server.add("/rss.xml", route)
    pipeline = open_pipeline(write_config(db_url, [url]))
    assert asyncio.run(pipeline.poll()).new == 2
    route.body = rss(items)  # a new item appears; the old ones are still listed
    summary = asyncio.run(pipeline.poll())
    assert summary.new == 1
    assert pipeline.store.entry_count() == 3


def test_backfill_on_first_poll_is_stored_not_alerted(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    old = Item(
        "USMCA: last month's news",
        "https://news.example/old",
        "USMCA history.",
        FROZEN_NOW - 72 * HOUR,
        "o-1",
    )
    new = Item(
        "USMCA: today's news", "https://news.example/new", "USMCA today.", FROZEN_NOW - HOUR, "o-2"
    )
    route = Route(body=rss([old, new]))
    url = http_server.add("/rss.xml", route)
    pipeline = open_pipeline(write_config(db_url, [url]))
    summary = asyncio.run(pipeline.poll())
    assert summary.new == 2
    assert summary.matched == 2
    pending = pipeline.store.pending_items("desk")
    assert [p.entry.title for p in pending] == ["USMCA: today's news"]
    # After the first poll an old item is alerted: it is new to this feed, not backfill.
    late = Item(
        "USMCA: an old item appears",
        "https://news.example/late",
        "USMCA.",
        FROZEN_NOW - 96 * HOUR,
        "o-3",
    )
    route.body = rss([old, new, late])
    asyncio.run(pipeline.poll())
    assert pipeline.store.count_pending("desk") == 2


def test_broken_feeds_do_not_stop_the_others(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    good = http_server.add("/good.xml", Route(body=rss(recent_items())))
    error = http_server.add("/error.xml", Route(status=500, body=b"oops"))
    html = http_server.add(
        "/page.html", Route(body=b"<html><body>hi</body></html>", content_type="text/html")
    )
    missing = http_server.url("/missing.xml")
    unreachable = "http://127.0.0.1:9/closed.xml"  # discard port: nothing listens
    pipeline = open_pipeline(write_config(db_url, [error, html, missing, unreachable, good]))
    summary = asyncio.run(pipeline.poll())
    statuses = {f.url: f for f in summary.feeds}
    assert statuses[good].status == "updated"
    assert statuses[good].new == 3
    assert statuses[error].error == "HTTP 500 Internal Server Error"
    assert statuses[html].error is not None
    assert "not an RSS or Atom feed" in statuses[html].error
    assert statuses[missing].error == "HTTP 404 Not Found"
    assert statuses[unreachable].error is not None
    assert statuses[unreachable].error.startswith("cannot connect")
    states = {s.url: s for s in pipeline.store.feed_states()}
    assert states[error].consecutive_failures == 1
    assert states[error].last_error == "HTTP 500 Internal Server Error"
    assert states[good].consecutive_failures == 0


def test_oversized_feed_is_refused(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    url = http_server.add("/huge.xml", Route(body=rss(recent_items()) + b" " * 5000))
    pipeline = open_pipeline(write_config(db_url, [url], fetch={"max_body_bytes": 2000}))
    (outcome,) = asyncio.run(pipeline.poll()).feeds
    assert outcome.status == "error"
    assert outcome.error == "body larger than fetch.max_body_bytes (2000 bytes decoded)"
    assert pipeline.store.entry_count() == 0


def test_same_guid_in_two_feeds_is_two_entries(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    a = http_server.add("/a.xml", Route(body=rss(recent_items())))
    b = http_server.add("/b.xml", Route(body=rss(recent_items())))
    pipeline = open_pipeline(write_config(db_url, [a, b]))
    assert asyncio.run(pipeline.poll()).new == 6


@pytest.mark.parametrize("repeat", [2])
def test_repeated_item_inside_one_feed_is_stored_once(
    repeat: int,
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    url = http_server.add("/dup.xml", Route(body=rss(recent_items()[:1] * repeat)))
    pipeline = open_pipeline(write_config(db_url, [url]))
    assert asyncio.run(pipeline.poll()).new == 1


def test_large_bodies_are_parsed_in_worker_processes(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    filler = "Trade notes. " * 6000  # about 78 KB: over the pool threshold
    items = [
        *recent_items(),
        Item("Long read", "https://news.example/long", filler, FROZEN_NOW - HOUR, "a-9"),
    ]
    url = http_server.add("/big.xml", Route(body=rss(items)))
    config = write_config(db_url, [url], fetch={"pool_parse_min_bytes": 65536, "parse_workers": 1})
    pipeline = open_pipeline(config)
    summary = asyncio.run(pipeline.poll())
    assert summary.new == 4
    assert pipeline._parsers is not None
    assert pipeline._parsers._executor is not None  # worker processes did the parsing
    assert pipeline.store.entry_count() == 4


def test_a_parse_that_hangs_fails_its_feed_only(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    import monitor.sources as sources_module  # the pipeline imports it where it parses

    real_parse = sources_module.parse_document
    stuck = http_server.add("/stuck.xml", Route(body=rss(recent_items())))
    fine = http_server.add("/fine.xml", Route(body=rss(recent_items())))

    def parse_or_hang(content: bytes, url: str, *args: object, **kwargs: object) -> object:
        if url == stuck:
            time.sleep(3)  # a parser caught in a pathological document
        return real_parse(content, url, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sources_module, "parse_document", parse_or_hang)
    config = write_config(db_url, [stuck, fine], fetch={"parse_timeout": "1s"})
    pipeline = open_pipeline(config)
    summary = asyncio.run(pipeline.poll())
    outcomes = {f.url: f for f in summary.feeds}
    assert outcomes[stuck].status == "error"
    assert outcomes[stuck].error == "parsing took longer than 1s"
    assert outcomes[fine].status == "updated"
    assert outcomes[fine].new == 3
    assert pipeline.store.feed_state(stuck).consecutive_failures == 1


def test_an_unexpected_error_on_one_feed_does_not_stop_the_others(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import monitor.prepare as prepare_module  # the pipeline imports it where it prepares

    real_prepare = prepare_module.prepare
    broken = http_server.add("/broken.xml", Route(body=rss(recent_items())))
    fine = http_server.add("/fine.xml", Route(body=rss(recent_items())))

    def prepare_or_fail(entries: list, *args: object) -> object:  # type: ignore[type-arg]
        if entries and entries[0].feed_url == broken:
            raise ZeroDivisionError("a bug met on this feed only")
        return real_prepare(entries, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(prepare_module, "prepare", prepare_or_fail)
    pipeline = open_pipeline(write_config(db_url, [broken, fine]))
    outcomes = {f.url: f for f in asyncio.run(pipeline.poll()).feeds}
    assert outcomes[broken].status == "error"
    assert outcomes[broken].error_kind == "internal"
    assert "a bug met on this feed only" in (outcomes[broken].error or "")
    assert outcomes[fine].status == "updated"
    assert outcomes[fine].new == 3


def test_parsed_feeds_waiting_for_the_writer_are_bounded_by_parse_ahead(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slow database must not let parsed feeds pile up in memory: at most
    ``fetch.parse_ahead`` feeds are parsed and not yet stored at any moment."""
    import threading
    import time

    urls = [
        http_server.add(f"/f{i}.xml", Route(body=rss(recent_items()[i % 3 :]))) for i in range(12)
    ]
    pipeline = open_pipeline(
        write_config(db_url, urls, fetch={"timeout": "5s", "concurrency": 12, "parse_ahead": 2})
    )
    lock = threading.Lock()
    waiting = 0
    most = 0
    real_parse = pipeline._parse
    real_store = pipeline._store_feed

    async def counting_parse(*args: object, **kwargs: object) -> object:
        nonlocal waiting, most
        parsed = await real_parse(*args, **kwargs)  # type: ignore[arg-type]
        with lock:
            waiting += 1
            most = max(most, waiting)
        return parsed

    def slow_store(*args: object, **kwargs: object) -> object:
        nonlocal waiting
        time.sleep(0.05)  # a slow database: parsed feeds would queue up behind it
        try:
            return real_store(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            with lock:
                waiting -= 1

    monkeypatch.setattr(pipeline, "_parse", counting_parse)
    monkeypatch.setattr(pipeline, "_store_feed", slow_store)
    summary = asyncio.run(pipeline.poll())
    assert [f.status for f in summary.feeds] == ["updated"] * 12
    assert 1 <= most <= 2
    assert waiting == 0


# An entity tag may hold any byte from 0x80 (RFC 9110, obs-text). The server below writes
# its headers as Latin-1, one byte a character: "caf\xc3\xa9" goes out as the UTF-8 bytes of
# "café", "\xe9t\xe9" as two bytes that are not UTF-8, each sent back as it came.
@pytest.mark.parametrize(
    "tag", ['"caf\xc3\xa9"', '"\xe9t\xe9"'], ids=["utf8-bytes", "latin1-bytes"]
)
def test_an_entity_tag_outside_ascii_goes_back_to_the_server_byte_for_byte(
    tag: str,
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    body = rss(recent_items())

    def respond(request: Request) -> tuple[int, dict[str, str], bytes]:
        if request.headers.get("if-none-match") == tag:
            return 304, {"ETag": tag}, b""
        return 200, {"ETag": tag, "Content-Type": "application/rss+xml"}, body

    url = http_server.add("/rss.xml", Route(responder=respond))
    pipeline = open_pipeline(write_config(db_url, [url]))
    first = asyncio.run(pipeline.poll())
    assert [f.status for f in first.feeds] == ["updated"]
    for _ in range(2):  # the validator kept in the database, read back, sent again
        again = asyncio.run(pipeline.poll())
        assert [(f.status, f.error) for f in again.feeds] == [("not_modified", None)]
    assert [r.headers.get("if-none-match") for r in http_server.requests_to("/rss.xml")] == [
        None,
        tag,
        tag,
    ]
