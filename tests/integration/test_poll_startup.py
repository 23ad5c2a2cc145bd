"""What a `monitor poll` loads at start: a poll of unchanged feeds, whose known articles
are stored already, reads no fingerprint, loads none of what it never runs, and reads no
row through the ORM."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.errors import SeedError
from monitor.seed_import import load_fingerprint_files
from monitor.store.feeds import PollRecord
from monitor.store.store import Store
from testbed.servers import HttpServer, Route
from tests.conftest import FROZEN_NOW, REPO
from tests.support.cli import monitor, python
from tests.support.feeds import Item, rss

# Loaded only to parse, fingerprint, judge, send or render: a poll where every feed
# answers 304 does none of it. Each is a package or module that some command imports.
NOT_LOADED = (
    "numpy",
    "monitor.dedup.features",
    "monitor.dedup.signature",
    "monitor.dedup.seeds",
    "monitor.parse.pool",
    "monitor.prepare",
    "monitor.intake",
    "monitor.digest",
    "monitor.deliver.relay",
    "monitor.schedule",
    "feedparser",
    "jinja2",
    "apprise",
    "trafilatura",
    "lxml",
    "rich",
    "alembic",
    "css_inline",
    "dateparser",
    "httpcore",  # feeds have their own transport (monitor.fetch.transport); webhooks use it
    "prometheus_client",  # counters are kept by the daemon, which serves them
)

_POLL_AND_LIST = textwrap.dedent(
    """
    import sys
    from monitor.cli import main
    code = main(["--config", sys.argv[1], "poll"])
    names = sys.argv[2:]
    from monitor.store.models import FeedRow
    print("mappers set up:", FeedRow.__mapper__.configured)
    print("loaded:", code, *[n for n in names if any(m == n or m.startswith(n + ".") for m in sys.modules)])
    """
)


def _seed_file(tmp_path: Path, records: list[dict[str, object]], **head: object) -> Path:
    shipped = json.loads((REPO / "config" / "seeds.json").read_text(encoding="utf-8"))
    document = {"format": shipped["format"], "scheme": shipped["scheme"], **head}
    document["seeds"] = records
    path = tmp_path / "seeds.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _shipped_records() -> list[dict[str, object]]:
    shipped = json.loads((REPO / "config" / "seeds.json").read_text(encoding="utf-8"))
    records: list[dict[str, object]] = shipped["seeds"]
    return records


def test_a_poll_of_unchanged_feeds_loads_nothing_it_does_not_run(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    item = Item("USMCA joint review begins", "https://news.example/r", "Met.", FROZEN_NOW, "g-1")
    feed = http_server.add("/rss.xml", Route(body=rss([item])))
    config = write_config(db_url, [feed], seeds=[str(REPO / "config" / "seeds.json")])
    first = monitor(config, "poll")  # stores the entry and the known articles
    assert first.returncode == 0, first.stderr

    second = python(_POLL_AND_LIST, str(config), *NOT_LOADED)

    assert second.returncode == 0, second.stderr
    assert "  unchanged  Feed 0" in second.stdout, second.stdout
    assert second.stdout.splitlines()[-1].split() == ["loaded:", "0"]  # exit code 0, none loaded
    # Nor did it read a row through the ORM: setting up its mappers costs some 30 ms a start.
    assert "mappers set up: False" in second.stdout.splitlines()
    assert len(http_server.requests_to("/rss.xml")) == 2
    assert http_server.requests_to("/rss.xml")[-1].headers.get("if-none-match")


def test_a_fingerprint_file_stored_already_is_not_read_again_but_a_new_article_is_added(
    db_url: str, tmp_path: Path
) -> None:
    records = _shipped_records()
    path = _seed_file(tmp_path, records[:1])
    store = Store.open(db_url)
    try:
        assert load_fingerprint_files(store, [path], FROZEN_NOW) == 1
        assert load_fingerprint_files(store, [path], FROZEN_NOW) == 0
        # The fingerprint of an article stored already is not read again (nothing would
        # use it), so not checked either.
        garbled = [{**records[0], "features": {"shingle_order": "not a list"}}]
        assert load_fingerprint_files(store, [_seed_file(tmp_path, garbled)], FROZEN_NOW) == 0
        # One more article in the file: it is read whole, and only the new one is added.
        path = _seed_file(tmp_path, records[:2])
        assert load_fingerprint_files(store, [path], FROZEN_NOW) == 1
        keys = {str(record["key"]) for record in records}
        assert len(keys) == len(store.seeds()) == 2
        assert store.known_keys(keys) == keys
    finally:
        store.close()


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ({"scheme": "v0-old"}, "made with fingerprint scheme 'v0-old'"),
        ({"format": "something/else"}, "not a monitor seed fingerprint file"),
    ],
)
def test_a_stored_fingerprint_file_of_another_scheme_or_format_is_still_refused(
    db_url: str, tmp_path: Path, head: dict[str, object], message: str
) -> None:
    records = _shipped_records()
    store = Store.open(db_url)
    try:
        assert load_fingerprint_files(store, [_seed_file(tmp_path, records)], FROZEN_NOW) == 2
        with pytest.raises(SeedError, match=message):
            load_fingerprint_files(store, [_seed_file(tmp_path, records, **head)], FROZEN_NOW)
    finally:
        store.close()


_START_AND_LIST = textwrap.dedent(
    """
    import sys
    from monitor.config import load_config
    from monitor.pipeline import Pipeline
    from monitor.store.store import Store
    config = load_config(sys.argv[1])
    pipeline = Pipeline(config, Store.open(config.database)).start(sys.argv[2] == "polling")
    print("pool loaded:", "monitor.parse.pool" in sys.modules)
    pipeline.close()
    """
)

_RUN_AND_LIST = textwrap.dedent(
    """
    import sys
    from monitor.cli import main
    code = main(["--config", sys.argv[1], *sys.argv[2].split()])
    print("loaded:", code, *[n for n in sys.argv[3:] if n in sys.modules])
    """
)


def test_only_a_poll_starts_the_parser_processes_for_feeds_never_parsed(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    """`monitor poll` starts them with the rest of its start-up when a feed was never
    parsed; a command that starts the pipeline without polling starts none."""
    item = Item("USMCA joint review begins", "https://news.example/r", "Met.", FROZEN_NOW, "g-1")
    feed = http_server.add("/rss.xml", Route(body=rss([item])))
    config = write_config(db_url, [feed])

    def run(command: str) -> list[str]:
        done = python(_RUN_AND_LIST, str(config), command, "monitor.parse.pool")
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()[-1].split()

    def start(mode: str) -> str:
        done = python(_START_AND_LIST, str(config), mode)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()[-1]

    assert start("polling") == "pool loaded: True"  # before any poll
    assert start("not polling") == "pool loaded: False"
    assert run("seeds list") == ["loaded:", "0"]
    assert run("poll") == ["loaded:", "0", "monitor.parse.pool"]
    assert len(http_server.requests_to("/rss.xml")) == 1
    # Parsed now: a poll starts the pipeline without the parser processes.
    assert start("polling") == "pool loaded: False"


def test_a_feed_sync_says_how_many_configured_feeds_were_never_parsed(db_url: str) -> None:
    urls = [f"https://news.example/{n}.xml" for n in range(3)]
    feeds = [(url, f"Feed {n}", timedelta(hours=1)) for n, url in enumerate(urls)]
    store = Store.open(db_url)
    try:
        assert store.sync_feeds(feeds) == 3  # inserted, in one statement
        due = FROZEN_NOW + timedelta(hours=1)
        store.record_poll(urls[0], PollRecord(FROZEN_NOW, due, body_hash="parsed"))
        store.record_poll(urls[1], PollRecord(FROZEN_NOW, due, error="HTTP 500"))
        assert store.sync_feeds(feeds) == 2  # a failed poll parsed nothing
        store.record_poll(urls[2], PollRecord(FROZEN_NOW, due, error="HTTP 410", gone=True))
        assert store.sync_feeds(feeds) == 1  # disabled: not polled, so not parsed either
        assert store.sync_feeds(feeds[:1]) == 0  # the others are no longer configured
        assert sorted(state.url for state in store.feed_states()) == urls
        assert [state.name for state in store.feed_states()] == ["Feed 0", "Feed 1", "Feed 2"]
    finally:
        store.close()
