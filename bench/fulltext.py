"""What reading article pages adds for teaser feeds: ``python bench/fulltext.py``.

There are no article pages in ``../shared/realfeeds`` (feed documents only), and no
item there is carried as a teaser by one feed and with its full text by another
(the script counts such links and says how many it found: none, at the time of
writing). So the article pages are built from the fullest text the corpus holds for
the same item: the items whose feed gives a short summary (under 400 characters)
*and* a full text (``content:encoded``, over 1,000 characters). Each such item
becomes a teaser (title, link, summary; the content dropped) in a feed served from
loopback, and its link serves an HTML page of the content wrapped in a site's chrome
(navigation, a "related" list, a footer), which the extractor must strip.

The real :class:`~monitor.pipeline.Pipeline` (fetcher, SSRF guard with loopback let
through, trafilatura, the article cache, SQLite in a temporary folder) polls the teaser
feeds once per ``full_text`` mode: ``off``, ``matching`` and ``always``. A reference
run matches the items as the corpus has them (summary and content) with no page read.
Printed per mode: entries matched, (entry, watch) matches, pages read, wall time,
and, for ``matching``, the matches ``always`` finds that it misses (its filter's cost).

The watches are chosen for what these feeds talk about (tech, politics, the web); they
are the bench's, not the shipped config's. ``full_text.max_articles_per_feed`` is lifted
(the default, 20, would leave the rest of a first poll on their summary) and
``fetch.per_host_concurrency`` raised to 8: every page comes from one loopback host.
"""

from __future__ import annotations

import asyncio
import html
import http.server
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "realfeeds"
ENV = {"BENCH_SECRET": "whsec_" + "A" * 44}  # the alert's webhook is never called
SHORT_SUMMARY = 400
FULL_CONTENT = 1_000

WATCHES = {
    "ai": '"artificial intelligence" OR OpenAI OR ChatGPT OR LLM OR "language model"',
    "privacy": "privacy OR surveillance OR encryption",
    "iran": "Iran AND (Trump OR sanctions OR protests)",
    "python": "Python OR Django",
    "security": "vulnerability OR CVE OR exploit OR malware",
    "linux": "Linux OR kernel",
    "feeds": 'RSS OR "web feed" OR Atom NEAR/3 feed',
    "climate": "climate OR emissions",
    "database": "PostgreSQL OR SQLite OR database",
    "browser": "Firefox OR Chrome OR Safari OR browser",
}

CHROME_TOP = (
    '<header><a href="/">Home</a> <a href="/about">About</a> <a href="/archive">Archive</a>'
    ' <a href="/subscribe">Subscribe</a></header>'
)
CHROME_BOTTOM = (
    "<aside><h3>Related</h3><ul><li><a href='/r1'>Our most read stories this week</a></li>"
    "<li><a href='/r2'>Sign up for the newsletter</a></li></ul></aside>"
    "<footer>Copyright the publisher. All rights reserved. Privacy policy. Terms.</footer>"
)


@dataclass(frozen=True)
class Teaser:
    feed: int
    number: int
    title: str
    summary: str
    content: str
    published: datetime | None


def teasers() -> tuple[list[Teaser], int, int]:
    """The corpus items with a short summary and a full text; how many items were read;
    how many links one feed carries as a teaser and another with its full text."""
    from monitor.parse.feed import parse_feed

    found: list[Teaser] = []
    texts: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    total = 0
    feeds: dict[str, int] = {}
    for path in sorted(CORPUS.glob("*.xml")):
        try:
            parsed = parse_feed(path.read_bytes(), f"https://feeds.example/{path.stem}", path.stem)
        except Exception:  # not a feed: the corpus holds a few HTML pages
            continue
        for entry in parsed.entries:
            total += 1
            teaser = len(entry.summary) < SHORT_SUMMARY and not entry.content
            full = len(entry.content) > FULL_CONTENT
            if entry.canonical_link:
                texts[entry.canonical_link].append((teaser, full))
            if len(entry.summary) < SHORT_SUMMARY and full:
                feed = feeds.setdefault(path.stem, len(feeds))
                found.append(
                    Teaser(
                        feed,
                        len(found),
                        entry.title,
                        entry.summary,
                        entry.content,
                        entry.published,
                    )
                )
    across = sum(
        1 for seen in texts.values() if any(t for t, _ in seen) and any(f for _, f in seen)
    )
    return found, total, across


def article_html(item: Teaser) -> bytes:
    paragraphs = "".join(
        f"<p>{html.escape(part.strip())}</p>" for part in item.content.split("\n") if part.strip()
    )
    page = (
        f"<!doctype html><html><head><title>{html.escape(item.title)}</title></head><body>"
        f"{CHROME_TOP}<main><article><h1>{html.escape(item.title)}</h1>{paragraphs}</article>"
        f"</main>{CHROME_BOTTOM}</body></html>"
    )
    return page.encode("utf-8")


def feed_xml(items: list[Teaser], base: str) -> bytes:
    parts = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>']
    parts.append("<title>teasers</title><link>http://example.test/</link><description/>")
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{html.escape(item.title)}</title>")
        parts.append(f"<link>{base}/a/{item.number}</link>")
        parts.append(f"<description>{html.escape(item.summary)}</description>")
        parts.append(f'<guid isPermaLink="false">bench-{item.number}</guid>')
        if item.published:
            parts.append(f"<pubDate>{format_datetime(item.published)}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


class Site:
    """Teaser feeds at /feed/N.xml and article pages at /a/N, on loopback."""

    def __init__(self, items: list[Teaser]) -> None:
        self.items = items
        self.hits: dict[str, int] = defaultdict(int)
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                body, kind = site.answer(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str) -> tuple[bytes, str]:
        self.hits[path.split("/")[1]] += 1
        if path.startswith("/feed/"):
            feed = int(path.removeprefix("/feed/").removesuffix(".xml"))
            items = [item for item in self.items if item.feed == feed]
            return feed_xml(items, self.base), "application/rss+xml; charset=utf-8"
        if path.startswith("/a/"):
            return article_html(self.items[int(path.removeprefix("/a/"))]), "text/html"
        return b"", "text/plain"

    def feeds(self) -> list[int]:
        return sorted({item.feed for item in self.items})


def config_text(database: str, feeds: list[str], mode: str) -> str:
    import yaml

    return yaml.safe_dump(
        {
            "database": database,
            "fetch": {"allow_private": ["127.0.0.0/8"], "per_host_concurrency": 8},
            "full_text": {"max_articles_per_feed": 10_000},
            "feeds": [{"url": url, "full_text": mode} for url in feeds],
            "watches": [{"name": name, "query": query} for name, query in WATCHES.items()],
            "alerts": [
                {
                    "name": "all",
                    "watches": list(WATCHES),
                    # never sent: the bench polls only; a webhook needs a key to be valid
                    "webhook": {"url": "http://127.0.0.1:9/", "secret": "${BENCH_SECRET}"},
                }
            ],
        }
    )


@dataclass
class Run:
    mode: str
    entries: int
    matched: int
    pairs: set[tuple[str, str]]
    pages: int
    seconds: float


def poll(site: Site, mode: str, folder: Path) -> Run:
    from monitor.config import parse_config
    from monitor.pipeline import Pipeline
    from monitor.store.store import Store

    feeds = [f"{site.base}/feed/{n}.xml" for n in site.feeds()]
    config = parse_config(config_text(f"sqlite:///{folder / mode}.db", feeds, mode), env=ENV)
    before = site.hits["a"]
    pipeline = Pipeline(config, Store.open(config.database), lambda: datetime.now(UTC))
    try:
        if hasattr(pipeline, "start"):
            pipeline.start()
        started = time.perf_counter()
        summary = asyncio.run(pipeline.poll())
        seconds = time.perf_counter() - started
        pairs = set()
        for stored in pipeline.store.iter_entries():
            for match in stored.matches:
                pairs.add((stored.entry.guid or "", match.watch))
    finally:
        pipeline.close()
    return Run(mode, summary.new, summary.matched, pairs, site.hits["a"] - before, seconds)


def reference(items: list[Teaser]) -> set[tuple[str, str]]:
    """The matches on the items as the corpus has them: summary and full content."""
    from monitor.config import parse_config
    from monitor.pipeline import compile_rules
    from monitor.types import Entry

    rules = compile_rules(parse_config(config_text("sqlite://", [], "off"), env=ENV))
    pairs = set()
    for item in items:
        entry = Entry("bench", "bench", item.title, None, None, None, item.summary, item.content)
        for match in rules.match(entry):
            pairs.add((f"bench-{item.number}", match.watch))
    return pairs


def main() -> int:
    if not CORPUS.is_dir():
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        return 1
    items, total, across = teasers()
    print(
        f"corpus: {total} items in {len(list(CORPUS.glob('*.xml')))} files; {len(items)} with a "
        f"summary under {SHORT_SUMMARY} chars and a full text over {FULL_CONTENT} chars, in "
        f"{len({i.feed for i in items})} feeds; {across} links carried as a teaser by one feed "
        "and with full text by another"
    )
    site = Site(items)
    runs: dict[str, Run] = {}
    with tempfile.TemporaryDirectory() as folder:
        for mode in ("off", "matching", "always"):
            runs[mode] = poll(site, mode, Path(folder))
    ideal = reference(items)
    print(
        f"\n{'full_text':<10} {'entries':>8} {'matched':>8} {'matches':>8} {'pages':>6} {'time':>7}"
    )
    for run in runs.values():
        print(
            f"{run.mode:<10} {run.entries:>8} {run.matched:>8} {len(run.pairs):>8} "
            f"{run.pages:>6} {run.seconds:>6.1f}s"
        )
    ideal_entries = len({guid for guid, _ in ideal})
    print(f"{'reference':<10} {len(items):>8} {ideal_entries:>8} {len(ideal):>8} {'-':>6} {'-':>7}")
    off, matching, always = runs["off"], runs["matching"], runs["always"]
    print(
        f"\nalways adds {len(always.pairs - off.pairs)} matches to off "
        f"({len(always.pairs)} vs {len(off.pairs)}), reading {always.pages} pages; "
        f"matching adds {len(matching.pairs - off.pairs)}, reading {matching.pages} pages "
        f"({matching.pages / max(1, always.pages):.0%} of them) and missing "
        f"{len(always.pairs - matching.pairs)} of always's"
    )
    print(
        f"always vs the reference (the corpus's own full text): {len(always.pairs & ideal)} of "
        f"{len(ideal)} found, {len(always.pairs - ideal)} not in it; "
        f"off loses {len(ideal - off.pairs)} of them"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
