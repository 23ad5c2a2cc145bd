"""Retention on the real path: polled entries, delivered and pending digests, a story still
waiting, the known articles; pruned by the daemon's job and by `monitor db prune` (both backends).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from monitor.ops import metrics
from monitor.pipeline import Pipeline
from monitor.schedule import Daemon, prune_now, retention_cutoffs
from monitor.store.retention import claim_job, count_prunable
from testbed.servers import HttpServer, Route
from tests.conftest import FROZEN_NOW, REPO
from tests.support.cli import monitor
from tests.support.clock import ManualClock
from tests.support.feeds import Item, rss

HOUR = timedelta(hours=1)
TEXT = (
    "Finance ministers from the three countries met on Thursday to compare notes on the "
    "new tariff schedule, and agreed to meet again before the end of the year in Ottawa."
)


def item(key: str, title: str, summary: str = "A story.", at: timedelta = HOUR) -> Item:
    return Item(title, f"https://news.example/{key}", summary, FROZEN_NOW - at, key)


def staged(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path], **extra: object
) -> tuple[Path, list[Item]]:
    first = [
        item("a", "USMCA story a"),  # delivered: prunable once old
        item("b", "Sheinbaum visit b"),  # its digest's delivery is still pending
        item("c", "Tariff news c", TEXT),  # still waiting for a digest
    ]
    copy = [item("d", "Tariff news c", TEXT)]  # another outlet's copy: joins c's story
    http_server.add("/one.xml", Route(body=rss(first)))
    http_server.add("/two.xml", Route(body=rss(copy)))
    http_server.add("/ok", Route(status=200))
    http_server.add("/down", Route(status=503))

    def hook(path: str) -> dict[str, str]:
        return {"url": http_server.url(path), "secret": "${TEST_WEBHOOK_SECRET}"}

    path = write_config(
        db_url,
        [http_server.url("/one.xml"), http_server.url("/two.xml")],
        seeds=[str(REPO / "config" / "seeds.json")],
        watches=[
            {"name": "usmca", "query": "USMCA"},
            {"name": "visits", "query": "Sheinbaum"},
            {"name": "tariffs", "query": "tariff"},
        ],
        alerts=[
            {"name": "desk", "watches": ["usmca"], "webhook": hook("/ok")},
            {"name": "hold", "watches": ["visits"], "webhook": hook("/down")},
            {"name": "wait", "watches": ["tariffs"], "webhook": hook("/ok")},
        ],
        **extra,
    )
    return path, first


def ids_by_title(pipeline: Pipeline) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for stored in pipeline.store.iter_entries():
        found.setdefault(stored.entry.title, []).append(stored.id)
    return found


def test_the_daemon_prunes_what_is_old_and_keeps_what_is_still_needed(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    path, first = staged(db_url, http_server, write_config)
    clock = ManualClock(FROZEN_NOW)
    pipeline = open_pipeline(path, clock)
    assert asyncio.run(pipeline.poll()).new == 4
    assert [o.status for o in pipeline.send_digest(pipeline.config.alert("desk")).deliveries] == [
        "sent"
    ]
    assert [o.status for o in pipeline.send_digest(pipeline.config.alert("hold")).deliveries] == [
        "retry"
    ]
    before = ids_by_title(pipeline)
    (c_id,) = before["Tariff news c"][:1]
    copy_id = before["Tariff news c"][1]
    record = pipeline.store.entry_record(copy_id)
    assert record.duplicate is not None
    assert record.duplicate.outcome == "joined"
    seeds = len(pipeline.store.seeds())
    assert seeds == 2

    # Nothing is old yet.
    assert set(
        count_prunable(pipeline.store, retention_cutoffs(pipeline.config, clock())).values()
    ) == {0}

    clock.advance(days=200)
    dry = count_prunable(pipeline.store, retention_cutoffs(pipeline.config, clock()))
    assert dry["entries"] == 1  # only story a: b is sending, c waits, d is in c's story
    assert dry["dedup_keys"] > 0
    assert dry["entry_features"] == 1  # story a's packed comparison features
    assert dry["matches"] == 1
    assert dry["digests"] == 1  # desk's; hold's delivery is pending
    assert dry["deliveries"] == 1
    assert dry["alert_items"] == 1
    pruned_before = metrics.REGISTRY.get_sample_value("monitor_pruned_total", {"table": "entries"})

    asyncio.run(Daemon(pipeline).prune_tick())

    after = ids_by_title(pipeline)
    assert "USMCA story a" not in after
    assert after["Sheinbaum visit b"] == before["Sheinbaum visit b"]
    assert after["Tariff news c"] == before["Tariff news c"]
    assert len(pipeline.store.seeds()) == seeds  # the baseline is never pruned
    assert [d.alert for d in pipeline.store.deliveries()] == ["hold"]
    assert [s.id for s in pipeline.store.pending_items("wait")] == [c_id]
    assert set(
        count_prunable(pipeline.store, retention_cutoffs(pipeline.config, clock())).values()
    ) == {0}
    pruned = metrics.REGISTRY.get_sample_value("monitor_pruned_total", {"table": "entries"})
    assert (pruned or 0) - (pruned_before or 0) == 1

    # The feed still carries story a: it comes back as new, but is too old to alert again;
    # a new story in the same poll alerts as usual.
    http_server.add(
        "/one.xml", Route(body=rss([*first, item("e", "USMCA story e", at=-HOUR * 4800)]))
    )
    clock.advance(hours=1)
    asyncio.run(pipeline.poll())
    assert [s.entry.title for s in pipeline.store.pending_items("desk")] == ["USMCA story e"]


def test_one_replica_prunes_at_a_time_and_the_cli_dry_run_deletes_nothing(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    # Short ages: the CLI runs on the real clock, which is past FROZEN_NOW but not by 180 days.
    path, _ = staged(
        db_url, http_server, write_config, retention={"entries": "1d", "deliveries": "1d"}
    )
    clock = ManualClock(FROZEN_NOW)
    pipeline = open_pipeline(path, clock)
    asyncio.run(pipeline.poll())
    pipeline.send_digest(pipeline.config.alert("desk"))
    clock.advance(days=200)
    store, config = pipeline.store, pipeline.config

    assert claim_job(store, "retention", "other", clock(), clock() + timedelta(minutes=5))
    assert prune_now(store, config, "me", clock) is None  # the other replica is at it
    assert count_prunable(store, retention_cutoffs(config, clock()))["entries"] == 1

    dry = monitor(path, "db", "prune", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "entries: 1" in dry.stdout
    assert count_prunable(store, retention_cutoffs(config, clock()))["entries"] == 1

    clock.advance(minutes=6)  # the other replica's lease ran out
    deleted = prune_now(store, config, "me", clock)
    assert deleted is not None
    assert deleted["entries"] == 1
    assert deleted["digests"] == 1


def test_article_pages_read_before_the_entries_age_are_pruned_and_newer_ones_kept(
    db_url: str,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    from monitor.fulltext import ArticlePage
    from monitor.store.articles import cached_articles, save_articles

    clock = ManualClock(FROZEN_NOW)
    pipeline = open_pipeline(write_config(db_url, [], retention={"entries": "30d"}), clock)
    store, config = pipeline.store, pipeline.config
    save_articles(store, [ArticlePage("https://news.example/old", "Old text.")], clock())
    save_articles(store, [ArticlePage("https://news.example/gone", "", "HTTP 404")], clock())
    clock.advance(days=40)
    save_articles(store, [ArticlePage("https://news.example/new", "New text.")], clock())

    assert count_prunable(store, retention_cutoffs(config, clock()))["articles"] == 2
    deleted = prune_now(store, config, "me", clock)
    assert deleted is not None
    assert deleted["articles"] == 2
    urls = ["https://news.example/old", "https://news.example/gone", "https://news.example/new"]
    assert set(cached_articles(store, urls)) == {"https://news.example/new"}
