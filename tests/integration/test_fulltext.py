"""full_text feeds against loopback servers, on SQLite and PostgreSQL: the article page of a
teaser entry is read once ever, matched on, shown as such, and a page that fails never
costs its entry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from monitor.digest.render import render_digest
from monitor.fulltext import ArticlePage
from monitor.pipeline import Pipeline
from monitor.rules.explain import explain
from monitor.store import articles
from monitor.types import StoredEntry
from testbed.servers import HttpServer, Request, Route
from tests.conftest import FROZEN_NOW
from tests.support.feeds import Item, rss

HOUR = timedelta(hours=1)

ARTICLE = """<html><head><title>{title}</title></head><body>
<nav><a href="/">Home</a> | <a href="/world">World</a> | <a href="/sport">Sport</a></nav>
<article><h1>{title}</h1>
<p>{first}</p>
<p>Officials on both sides spent the morning on procedure, and the afternoon on the long list
of grievances each government has gathered since the agreement came into force in 2020.</p>
<p>A further round is planned for the spring, a spokesperson said, without naming a date.</p>
</article>
<footer>Copyright 2026 News Example. All rights reserved.</footer>
</body></html>"""


def page(title: str, first: str) -> Route:
    html = ARTICLE.format(title=title, first=first)
    return Route(body=html.encode(), content_type="text/html; charset=utf-8")


def with_full_text(path: Path, modes: list[str], **full_text: Any) -> Path:
    """The config at ``path`` with each feed's ``full_text`` and the ``full_text:`` section."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for feed, mode in zip(data["feeds"], modes, strict=True):
        feed["full_text"] = mode
    if full_text:
        data["full_text"] = full_text
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def stored(pipeline: Pipeline, link: str) -> StoredEntry:
    (entry_id,) = pipeline.store.find_entry_ids(link)
    (entry,) = pipeline.store.stored_entries([entry_id])
    return entry


def cached(pipeline: Pipeline, link: str) -> ArticlePage:
    """The cache's record of the page ``link`` points to (cached under its canonical form)."""
    name = stored(pipeline, link).entry.canonical_link
    assert name is not None
    return articles.cached_articles(pipeline.store, [name])[name]


def teaser_items(base: str) -> list[Item]:
    return [
        Item(
            "Ottawa trade officials meet their counterparts",
            f"{base}/news/trade-talks",
            "Talks went on past midnight.",
            FROZEN_NOW - HOUR,
            "t-1",
        ),
        Item(
            "Bakery wins a regional prize",
            f"{base}/news/bakery",
            "A sweet day downtown.",
            FROZEN_NOW - HOUR,
            "t-2",
        ),
    ]


def serve_teasers(http_server: HttpServer) -> tuple[str, list[Item], str]:
    """A teaser feed of two items, and the article page of each; (base, items, feed URL)."""
    base = http_server.base
    http_server.add(
        "/news/trade-talks",
        page(
            "Ottawa trade officials meet their counterparts",
            "Canada and Mexico opened the USMCA review in Ottawa on Tuesday.",
        ),
    )
    http_server.add("/news/bakery", page("Bakery", "Bread and USMCA pastries, a joke."))
    items = teaser_items(base)
    feed = http_server.add("/teasers.xml", Route(body=rss(items), etag=False, last_modified=None))
    return base, items, feed


def test_a_teaser_matches_on_its_article_and_the_digest_says_so(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    base, _, feed = serve_teasers(http_server)
    config = with_full_text(write_config(db_url, [feed]), ["matching"])
    pipeline = open_pipeline(config)

    first = asyncio.run(pipeline.poll())
    assert first.new == 2
    assert first.matched == 1
    talks = stored(pipeline, f"{base}/news/trade-talks")
    # The feed's summary is kept; the article text is the content, and matching used it.
    assert talks.entry.summary == "Talks went on past midnight."
    assert "opened the USMCA review" in talks.entry.content
    assert "Home | World" not in talks.entry.content  # the extractor left the page's chrome
    watches = {match.watch: match for match in talks.matches}
    assert set(watches) == {"usmca", "canada-mexico"}
    assert {span.field for span in watches["usmca"].spans} == {"article"}
    # The bakery's teaser names no word any watch needs: its page is not read.
    assert http_server.requests_to("/news/bakery") == []
    bakery = stored(pipeline, f"{base}/news/bakery")
    assert bakery.entry.content == ""
    assert bakery.matches == ()

    # The digest shows the summary as before and says where the match came from.
    (pending,) = pipeline.store.pending_items("desk")
    assert pending.id == talks.id
    digest = pipeline.preview(pipeline.config.alerts[0])
    assert digest is not None
    (item,) = [item for section in digest.sections for item in section.items][:1]
    assert item.summary == "Talks went on past midnight."
    assert item.snippet_field == "article"
    text = render_digest(digest, "America/Toronto").text
    assert "From the article: " in text
    assert "USMCA" in text
    why = explain(talks.entry, talks.matches)
    assert "article [" in why
    assert "«USMCA»" in why


def test_an_article_is_read_once_across_polls_and_restarts(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    base, items, feed = serve_teasers(http_server)
    pipeline = open_pipeline(with_full_text(write_config(db_url, [feed]), ["matching"]))
    asyncio.run(pipeline.poll())
    assert len(http_server.requests_to("/news/trade-talks")) == 1

    # A second poll with one more item: the first article is not asked for again.
    http_server.add(
        "/news/more",
        page("More talks", "Sheinbaum and Canada's prime minister spoke by phone."),
    )
    more = Item(
        "Ottawa talks, day two",
        f"{base}/news/more",
        "More talks.",
        FROZEN_NOW - HOUR,
        "t-3",
    )
    http_server.add("/teasers.xml", Route(body=rss([*items, more]), etag=False, last_modified=None))
    second = asyncio.run(pipeline.poll())
    assert second.new == 1
    assert second.matched == 1
    assert len(http_server.requests_to("/news/trade-talks")) == 1
    assert len(http_server.requests_to("/news/more")) == 1

    # After a restart, another feed carrying the same story finds its article in the cache.
    pipeline.close()
    other = http_server.add(
        "/other.xml",
        Route(body=rss([Item("Ottawa: the talks", f"{base}/news/trade-talks", "Short.")])),
    )
    config = with_full_text(write_config(db_url, [feed, other]), ["matching", "always"])
    restarted = open_pipeline(config)
    third = asyncio.run(restarted.poll())
    assert third.new == 1
    assert len(http_server.requests_to("/news/trade-talks")) == 1
    assert len(http_server.requests_to("/news/more")) == 1
    copies = restarted.store.stored_entries(
        restarted.store.find_entry_ids(f"{base}/news/trade-talks")
    )
    assert sorted(copy.entry.feed_name for copy in copies) == ["Feed 0", "Feed 1"]
    assert all("opened the USMCA review" in copy.entry.content for copy in copies)


def test_always_reads_every_teaser_page(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    base = http_server.base
    http_server.add("/news/trade-talks", page("Talks", "Nothing to see, no trade pact named."))
    http_server.add("/news/bakery", page("Bakery", "The baker exports to Mexico under CUSMA."))
    feed = http_server.add("/teasers.xml", Route(body=rss(teaser_items(base))))
    pipeline = open_pipeline(with_full_text(write_config(db_url, [feed]), ["always"]))

    summary = asyncio.run(pipeline.poll())
    assert summary.new == 2
    assert summary.matched == 1
    assert len(http_server.requests_to("/news/bakery")) == 1
    bakery = stored(pipeline, f"{base}/news/bakery")
    assert [match.watch for match in bakery.matches] == ["usmca"]


def test_an_off_feed_reads_no_page(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    base = http_server.base
    http_server.add("/news/trade-talks", page("Talks", "Canada and Mexico, USMCA."))
    feed = http_server.add("/teasers.xml", Route(body=rss(teaser_items(base))))
    pipeline = open_pipeline(with_full_text(write_config(db_url, [feed]), ["off"]))

    assert asyncio.run(pipeline.poll()).matched == 0
    assert http_server.requests_to("/news/trade-talks") == []


def test_pages_that_fail_leave_their_entries_judged_on_the_summary(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    base = http_server.base

    def slow(request: Request) -> tuple[int, dict[str, str], bytes]:
        time.sleep(2.5)
        return 200, {"Content-Type": "text/html"}, b"<html><p>too late</p></html>"

    huge = ARTICLE.format(title="Huge", first="USMCA " * 5_000).encode()
    http_server.add("/news/huge", Route(body=huge, content_type="text/html"))
    http_server.add("/news/slow", Route(responder=slow))
    http_server.add(
        "/news/empty", Route(body=b"<html><body></body></html>", content_type="text/html")
    )
    # /news/missing is not served: 404. The link-local address is refused by the guard.
    links = {
        "huge": f"{base}/news/huge",
        "slow": f"{base}/news/slow",
        "missing": f"{base}/news/missing",
        "private": "http://169.254.169.254/latest/meta-data",
        "empty": f"{base}/news/empty",
    }
    items = [
        Item(f"USMCA talks: {name}", link, "Trade officials met.", FROZEN_NOW - HOUR, name)
        for name, link in links.items()
    ]
    feed = http_server.add("/teasers.xml", Route(body=rss(items), etag=False, last_modified=None))
    config = with_full_text(
        write_config(db_url, [feed]),
        ["always"],
        max_article_bytes=10_000,
        timeout="1s",
    )
    pipeline = open_pipeline(config)

    summary = asyncio.run(pipeline.poll())
    (outcome,) = summary.feeds
    assert outcome.status == "updated"
    assert summary.new == 5
    assert summary.matched == 5
    for link in links.values():
        entry = stored(pipeline, link)
        assert entry.entry.summary == "Trade officials met."
        assert entry.entry.content == ""
        assert {span.field for m in entry.matches for span in m.spans} == {"title"}
    reasons = {name: cached(pipeline, link).error or "" for name, link in links.items()}
    assert "full_text.max_article_bytes" in reasons["huge"]
    assert "1s" in reasons["slow"]
    assert "404" in reasons["missing"]
    assert "169.254.169.254" in reasons["private"] or "refused" in reasons["private"]
    assert reasons["empty"] == "no article text found in the page"

    # Tried once, never again: a second poll (a new item) asks none of them.
    extra = Item("USMCA talks: later", f"{base}/news/later", "Later.", FROZEN_NOW - HOUR, "later")
    http_server.add(
        "/teasers.xml", Route(body=rss([*items, extra]), etag=False, last_modified=None)
    )
    asyncio.run(pipeline.poll())
    for path in ("/news/huge", "/news/slow", "/news/missing", "/news/empty"):
        assert len(http_server.requests_to(path)) == 1, path


def test_a_page_down_for_a_while_is_read_again_for_new_entries_only(
    db_url: str,
    http_server: HttpServer,
    write_config: Callable[..., Path],
    open_pipeline: Callable[..., Pipeline],
) -> None:
    base = http_server.base
    up = [False]
    html = ARTICLE.format(title="Talks", first="Canada and Mexico opened the USMCA review.")

    def flaky(request: Request) -> tuple[int, dict[str, str], bytes]:
        if up[0]:
            return 200, {"Content-Type": "text/html"}, html.encode()
        return 503, {"Content-Type": "text/plain"}, b"busy"

    def serve(path: str, items: list[Item]) -> str:
        return http_server.add(path, Route(body=rss(items), etag=False, last_modified=None))

    http_server.add("/news/talks", Route(responder=flaky))
    http_server.add("/news/gone", Route(body=b"no", status=404, content_type="text/plain"))
    talks_link, gone_link = f"{base}/news/talks", f"{base}/news/gone"
    feeds = [
        serve(
            "/a.xml",
            [
                Item("USMCA talks open", talks_link, "Talks.", FROZEN_NOW - HOUR, "a"),
                Item("USMCA talks gone", gone_link, "Gone.", FROZEN_NOW - HOUR, "g"),
            ],
        ),
        serve("/b.xml", []),
        serve("/c.xml", []),
    ]
    config = with_full_text(
        write_config(db_url, feeds), ["always"] * 3, retry_after="30m", max_attempts=3
    )
    now = [FROZEN_NOW]
    pipeline = open_pipeline(config, lambda: now[0])

    assert asyncio.run(pipeline.poll()).new == 2
    page = cached(pipeline, talks_link)
    assert (page.temporary, page.attempts, page.text) == (True, 1, "")
    assert "503" in (page.error or "")
    assert not cached(pipeline, gone_link).temporary
    before = stored(pipeline, talks_link)
    assert before.entry.content == ""

    # Too early: a new entry in another feed linking to the page does not get it read again.
    up[0] = True
    serve("/b.xml", [Item("USMCA talks, again", talks_link, "Again.", FROZEN_NOW, "b")])
    now[0] = FROZEN_NOW + timedelta(minutes=10)
    assert asyncio.run(pipeline.poll()).new == 1
    assert len(http_server.requests_to("/news/talks")) == 1

    # Due: a new entry in a third feed gets the article; the entries stored on the summary
    # are not judged again nor stored twice, and the 404 page is never asked for again.
    serve("/c.xml", [Item("USMCA talks, day two", talks_link, "Day two.", FROZEN_NOW, "c")])
    serve("/a.xml", [Item("USMCA gone again", gone_link, "Gone.", FROZEN_NOW, "g2")])
    now[0] = FROZEN_NOW + timedelta(minutes=45)
    assert asyncio.run(pipeline.poll()).new == 2
    assert len(http_server.requests_to("/news/talks")) == 2
    assert len(http_server.requests_to("/news/gone")) == 1
    name = before.entry.canonical_link
    assert name is not None
    page = articles.cached_articles(pipeline.store, [name])[name]
    assert (page.temporary, page.attempts, page.error) == (False, 2, None)
    assert "opened the USMCA review" in page.text
    copies = pipeline.store.stored_entries(pipeline.store.find_entry_ids(talks_link))
    by_guid = {copy.entry.guid: copy for copy in copies}
    assert sorted(by_guid) == ["a", "b", "c"]
    first = by_guid["a"]
    assert (first.id, first.entry, first.matches) == (before.id, before.entry, before.matches)
    assert first.also == ("Feed 1", "Feed 2")  # the later copies are told apart as duplicates
    pending = [item.id for item in pipeline.store.pending_items("desk")]
    assert pending.count(before.id) == 1  # alerted once, on its summary
    assert by_guid["b"].id not in pending
    assert by_guid["c"].id not in pending
    assert by_guid["b"].entry.content == ""
    assert "opened the USMCA review" in by_guid["c"].entry.content
