"""`monitor poll` end to end on the source types other than RSS/Atom: a JSON Feed and a
news sitemap on a loopback server, their items matched by the watches."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from testbed.servers import HttpServer, Route
from tests.support.cli import monitor


def _json_feed(now: datetime) -> bytes:
    items = [
        {
            "id": "jf-1",
            "url": "https://jf.example/usmca-autos",
            "title": "USMCA auto rules tighten",
            "content_html": "<p>Negotiators agreed on <b>new</b> content rules.</p>",
            "date_published": (now - timedelta(hours=2)).isoformat(),
            "tags": ["trade"],
        },
        {
            "id": "jf-2",
            "url": "https://jf.example/gardening",
            "title": "Autumn gardening tips",
            "content_text": "Plant bulbs before the frost.",
            "date_published": (now - timedelta(hours=1)).isoformat(),
        },
    ]
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "JF", "items": items}
    ).encode()


def _news_sitemap(now: datetime) -> bytes:
    def url(loc: str, title: str, keywords: str) -> str:
        return (
            f"<url><loc>{loc}</loc><news:news><news:publication><news:name>Daily</news:name>"
            "<news:language>en</news:language></news:publication>"
            f"<news:publication_date>{(now - timedelta(hours=3)).isoformat()}"
            f"</news:publication_date><news:title>{title}</news:title>"
            f"<news:keywords>{keywords}</news:keywords></news:news></url>"
        )

    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        + url("https://sm.example/ottawa-talks", "Ottawa and Mexico open talks", "trade")
        + url("https://sm.example/weather", "Rain all week", "weather")
        + "</urlset>"
    ).encode()


def test_poll_reads_json_feed_and_news_sitemap_and_matches_their_items(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    now = datetime.now(UTC)
    feed = http_server.add(
        "/feed.json", Route(body=_json_feed(now), content_type="application/feed+json")
    )
    sitemap = http_server.add(
        "/news-sitemap.xml", Route(body=_news_sitemap(now), content_type="application/xml")
    )
    config = write_config(db_url, [feed, sitemap])

    polled = monitor(config, "poll")
    assert polled.returncode == 0, polled.stderr
    assert "2 items, 2 new, 1 matched" in polled.stdout, polled.stdout
    assert polled.stdout.count("2 items, 2 new, 1 matched") == 2, polled.stdout
    # The request says JSON Feed is welcome, for servers that choose by Accept.
    assert "application/feed+json" in http_server.requests_to("/feed.json")[0].headers["accept"]

    preview = monitor(config, "digest", "--preview")
    assert preview.returncode == 0, preview.stderr
    assert "USMCA auto rules tighten" in preview.stdout
    assert "Ottawa and Mexico open talks" in preview.stdout
    assert "gardening" not in preview.stdout
    assert "Rain all week" not in preview.stdout


def test_configured_type_is_used_and_a_plain_sitemap_is_named_as_such(
    db_url: str, http_server: HttpServer, write_config: Callable[..., Path]
) -> None:
    now = datetime.now(UTC)
    # Served as text/html; the type: says what it is. The same body typed rss fails as
    # RSS, which shows the type: reaches the parser rather than sniffing.
    feed = http_server.add("/api", Route(body=_json_feed(now), content_type="text/html"))
    wrong = http_server.add("/api2", Route(body=_json_feed(now), content_type="text/html"))
    plain = http_server.add(
        "/sitemap.xml",
        Route(
            body=b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<url><loc>https://sm.example/a</loc></url></urlset>",
            content_type="application/xml",
        ),
    )
    config = write_config(db_url, [])
    text = config.read_text(encoding="utf-8").replace(
        "feeds: []",
        f"feeds:\n- url: {feed}\n  name: Typed\n  type: jsonfeed\n"
        f"- url: {wrong}\n  name: Wrong\n  type: rss\n- url: {plain}\n  name: Plain\n",
    )
    config.write_text(text, encoding="utf-8")

    polled = monitor(config, "poll")
    assert polled.returncode == 1, polled.stderr  # a feed failed
    assert "ok         Typed: 2 items, 2 new, 1 matched" in polled.stdout, polled.stdout
    assert f"FAILED     Wrong ({wrong}): not an RSS or Atom feed" in polled.stdout
    assert (
        f"FAILED     Plain ({plain}): not a news sitemap: its one URL has no <news:news> tags"
        in polled.stdout
    )
