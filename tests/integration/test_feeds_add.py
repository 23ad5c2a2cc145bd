"""`monitor feeds add URL`: feed discovery against loopback pages, and the config file it
edits (comments kept, duplicates refused, exit 2 when several feeds and no choice)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from monitor.config import load_config
from testbed.servers import HttpServer, Route
from tests.support.cli import monitor
from tests.support.feeds import Item, atom, rss

HTML = "text/html; charset=utf-8"
COMMENT = "# feeds the desk reads; keep this comment\n"


@pytest.fixture
def config(tmp_path: Path, write_config: Callable[..., Path]) -> Path:
    path = write_config(f"sqlite:///{tmp_path / 'm.db'}", [])
    path.write_text(COMMENT + path.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def _page(*links: str) -> bytes:
    head = "".join(links)
    return f"<!doctype html><html><head><title>Site</title>{head}</head><body>hi</body></html>".encode()


def _feeds(config: Path) -> list[tuple[str, str]]:
    return [(feed.url, feed.display_name) for feed in load_config(config).feeds]


def _json_feed() -> bytes:
    body = {"version": "https://jsonfeed.org/version/1.1", "title": "JSON News", "items": []}
    return json.dumps(body).encode()


def test_a_feed_address_is_added_as_it_is_keeping_the_file(
    config: Path, http_server: HttpServer
) -> None:
    feed = http_server.add(
        "/feed.json", Route(body=_json_feed(), content_type="application/feed+json")
    )
    before = config.read_text(encoding="utf-8")
    added = monitor(config, "feeds", "add", feed)
    assert added.returncode == 0, added.stderr
    assert f"added {feed} (jsonfeed, named 'JSON News')" in added.stdout
    assert _feeds(config) == [(feed, "JSON News")]
    after = config.read_text(encoding="utf-8")
    assert after.startswith(COMMENT)
    untouched = {k: v for k, v in yaml.safe_load(before).items() if k != "feeds"}
    assert {k: v for k, v in yaml.safe_load(after).items() if k != "feeds"} == untouched

    again = monitor(config, "feeds", "add", feed + "/")
    assert again.returncode == 1
    assert f"error: {feed}/: already configured (as JSON News)" in again.stderr
    assert config.read_text(encoding="utf-8") == after


def test_a_page_linking_one_feed_adds_that_feed(config: Path, http_server: HttpServer) -> None:
    http_server.add(
        "/news/atom",
        Route(
            body=atom([Item("A", "https://s.example/a", "s")]), content_type="application/atom+xml"
        ),
    )
    page = http_server.add(
        "/",
        Route(
            body=_page('<link rel="alternate" type="application/atom+xml" href="/news/atom">'),
            content_type=HTML,
        ),
    )
    added = monitor(config, "feeds", "add", page, "--name", "Site news")
    assert added.returncode == 0, added.stderr
    assert _feeds(config) == [(http_server.url("/news/atom"), "Site news")]


def test_a_page_linking_none_is_probed_at_common_paths(
    config: Path, http_server: HttpServer
) -> None:
    http_server.add("/index.xml", Route(body=rss([], title="Probed")))
    page = http_server.add("/blog/post", Route(body=_page(), content_type=HTML))
    added = monitor(config, "feeds", "add", page)
    assert added.returncode == 0, added.stderr
    assert _feeds(config) == [(http_server.url("/index.xml"), "Probed")]
    probed = [r.path for r in http_server.requests if r.path != "/blog/post"]
    # One at a time, in the documented order, up to the one that answered.
    assert probed[:6] == ["/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml"]


def test_nothing_found_names_the_url_and_leaves_the_file(
    config: Path, http_server: HttpServer
) -> None:
    page = http_server.add("/", Route(body=_page(), content_type=HTML))
    before = config.read_text(encoding="utf-8")
    result = monitor(config, "feeds", "add", page)
    assert result.returncode == 1
    assert f"error: {page}: no feed found: the page links none, and none of /feed" in result.stderr
    assert config.read_text(encoding="utf-8") == before

    other = http_server.add("/data.csv", Route(body=b"a,b\n1,2\n", content_type="text/csv"))
    result = monitor(config, "feeds", "add", other)
    assert result.returncode == 1
    assert f"error: {other}: neither a feed nor an HTML page: not an RSS or Atom feed" in (
        result.stderr
    )


def test_several_found_are_listed_and_need_a_pick(config: Path, http_server: HttpServer) -> None:
    http_server.add("/rss", Route(body=rss([], title="Everything")))
    http_server.add("/feed.json", Route(body=_json_feed(), content_type="application/feed+json"))
    page = http_server.add(
        "/",
        Route(
            body=_page(
                '<link rel="alternate" type="application/rss+xml" href="/rss" title="All">',
                '<link rel="alternate" type="application/feed+json" href="feed.json" title="JSON">',
                '<link rel="stylesheet" href="/style.css">',
            ),
            content_type=HTML,
        ),
    )
    before = config.read_text(encoding="utf-8")
    listed = monitor(config, "feeds", "add", page)
    assert listed.returncode == 2
    assert listed.stdout.splitlines() == [
        "2 feeds found:",
        f"  1. {http_server.url('/rss')}  [rss, linked from the page]  All",
        f"  2. {http_server.url('/feed.json')}  [jsonfeed, linked from the page]  JSON",
        "choose one with --pick N",
    ]
    assert config.read_text(encoding="utf-8") == before

    bad = monitor(config, "feeds", "add", page, "--pick", "3")
    assert bad.returncode == 2
    assert "--pick 3: there are 2 candidates" in bad.stderr

    picked = monitor(config, "feeds", "add", page, "--pick", "2")
    assert picked.returncode == 0, picked.stderr
    assert _feeds(config) == [(http_server.url("/feed.json"), "JSON News")]


def test_the_ssrf_guard_applies_to_discovery(config: Path, http_server: HttpServer) -> None:
    text = config.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["fetch"]["allow_private"] = []
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    page = http_server.add("/", Route(body=_page(), content_type=HTML))
    refused = monitor(config, "feeds", "add", page)
    assert refused.returncode == 1
    assert f"error: {page}" in refused.stderr
    assert http_server.requests == []


def test_discovery_limits_are_the_fetch_settings(config: Path, http_server: HttpServer) -> None:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["fetch"] = {**data.get("fetch", {}), "discover_max_linked": 1}
    data["fetch"]["discover_max_probe_feeds"] = 1
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    http_server.add("/rss", Route(body=rss([], title="Everything")))
    http_server.add("/feed", Route(body=rss([], title="Probed first")))
    http_server.add("/feed.json", Route(body=_json_feed(), content_type="application/feed+json"))
    linking = http_server.add(
        "/",
        Route(
            body=_page(
                '<link rel="alternate" type="application/rss+xml" href="/rss" title="All">',
                '<link rel="alternate" type="application/feed+json" href="feed.json" title="JSON">',
            ),
            content_type=HTML,
        ),
    )
    # One linked feed listed: it is the only candidate, added without a pick.
    added = monitor(config, "feeds", "add", linking)
    assert added.returncode == 0, added.stderr
    assert _feeds(config) == [(http_server.url("/rss"), "Everything")]

    # Probing stops at the first feed found: /rss (a feed too) is not asked for.
    page = http_server.add("/blog/post", Route(body=_page(), content_type=HTML))
    before = len(http_server.requests_to("/rss"))
    probed = monitor(config, "feeds", "add", page)
    assert probed.returncode == 0, probed.stderr
    assert _feeds(config)[-1] == (http_server.url("/feed"), "Probed first")
    assert len(http_server.requests_to("/rss")) == before


def test_an_address_that_is_not_a_web_url_is_named_before_any_request(config: Path) -> None:
    before = config.read_text(encoding="utf-8")
    for wrong in ("notaurl", "ftp://files.example/feed.xml"):
        result = monitor(config, "feeds", "add", wrong)
        assert result.returncode == 1
        assert f"error: {wrong}: expected an http:// or https:// URL, got {wrong!r}" in (
            result.stderr
        )
        assert "redirect" not in result.stderr
    assert config.read_text(encoding="utf-8") == before
