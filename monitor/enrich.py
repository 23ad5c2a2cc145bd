"""The seam between parse and store for ``full_text`` feeds: read the article pages of
the new teaser entries, and judge those entries again on the article text.

::

    prepared entries ──> want the article? ──> new? ──> cached? ──> fetch ──> extract
    (matched on their   (monitor.fulltext)    (store)   (articles   (fetcher) (trafilatura,
     summary)                                            table)               a thread)
                   ──> record each page once ──> prepare again with the article text

The pipeline passes the I/O in (the store's reads and writes through its writer thread,
the fetcher, the preparation in a thread), so this module only orders it. A page that
fails (404, too large, too slow, a refused address, no article text in it) is recorded
with its reason like a page read, and its entry goes on judged on its summary: no entry
is ever lost to its article.

A permanent failure (404/410, too large, a refused address, not HTML, no article text)
is final: the page is never asked for again. A temporary one (timeout, connection error,
5xx, 429) is read again by a later poll, ``full_text.retry_after`` after the last try, at
most ``full_text.max_attempts`` reads in all (:func:`monitor.fulltext.retry_due`). The
retry serves only entries not yet stored: the entry whose read failed was stored on its
summary (and alerted on it, if it matched) and stays so; it is never judged again, so a
later read neither alerts on it again nor stores it twice. The page read later serves the
new entries that link to it: the same story in another feed, or republished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.dedup.keys import link_trusted, shared_links
from monitor.fetch.article import FetchedPage
from monitor.fulltext import (
    ArticlePage,
    FullTextMode,
    FullTextSettings,
    TeaserFilter,
    article_key,
    article_spans,
    article_url,
    retry_due,
    wants_article,
    with_article,
)
from monitor.prepare import PreparedEntry
from monitor.types import Entry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ArticleIO:
    """What :func:`add_article_text` reads and writes through, given by the pipeline."""

    known: Callable[[list[str]], Awaitable[set[str]]]
    """Which of these entry keys the store holds already (those are not new)."""
    cached: Callable[[list[str]], Awaitable[dict[str, ArticlePage]]]
    """The pages among these URLs read or tried before."""
    download: Callable[[str], Awaitable[FetchedPage]]
    """GET one article page (never raises: a failure is the page's error)."""
    save: Callable[[list[ArticlePage]], Awaitable[None]]
    """Record pages read or tried now (a page tried again replaces its failed record)."""
    prepare: Callable[[list[Entry]], Awaitable[tuple[PreparedEntry, ...]]]
    """Key, match and fingerprint entries (:func:`monitor.prepare.prepare`), off the loop."""
    extract: Callable[[bytes, str, int], Awaitable[str]]
    """HTML -> article text, at most so many characters
    (:func:`monitor.parse.extract.extract_text`), off the event loop."""


@dataclass(frozen=True, slots=True)
class Enriched:
    """The feed's prepared entries after reading articles, and what it took."""

    prepared: tuple[PreparedEntry, ...]
    """The entries, those with an article text prepared again on it."""
    wanted: int = 0
    """New entries that wanted their article."""
    fetched: int = 0
    """Pages downloaded in this poll."""
    cached: int = 0
    """Pages found in the cache (read before, for this feed or another) and not read again."""
    retried: int = 0
    """Pages read again now after a temporary failure (counted in ``fetched`` too)."""
    failed: int = 0
    """Pages with no text (failed now or before); their entries stay on their summary."""
    over_cap: int = 0
    """Entries left on their summary by ``full_text.max_articles_per_feed``."""
    with_text: int = 0
    """Entries now judged on their article text."""


async def add_article_text(
    prepared: Sequence[PreparedEntry],
    mode: FullTextMode,
    teasers: TeaserFilter | None,
    settings: FullTextSettings,
    io: ArticleIO,
    *,
    now: datetime,
) -> Enriched:
    """Read the article pages of ``prepared``'s new entries that want one (see
    :func:`monitor.fulltext.wants_article`) and prepare those entries again with it.
    A cached temporary failure due for a retry at ``now`` is read again."""
    items = tuple(prepared)
    if mode == "off" or not items:
        return Enriched(items)
    # A link several items share names a page, not an item: its page is no one's article.
    shared = shared_links([item.entry for item in items])
    wanting = [
        item
        for item in items
        if link_trusted(item.entry, shared) and wants_article(item.entry, mode, teasers)
    ]
    if not wanting:
        return Enriched(items)
    known = await io.known([item.key for item in wanting])
    wanting = [item for item in wanting if item.key not in known]
    if not wanting:
        return Enriched(items)
    url_of = {item.key: name for item in wanting if (name := article_key(item.entry))}
    fetch_from = {article_key(item.entry): article_url(item.entry) for item in reversed(wanting)}
    pages = await io.cached(list(dict.fromkeys(url_of.values())))
    due = {name for name, page in pages.items() if retry_due(page, now, settings)}
    from_cache = len(pages) - len(due)
    to_fetch = [name for name in dict.fromkeys(url_of.values()) if name not in pages or name in due]
    allowed = to_fetch[: settings.max_articles_per_feed]
    over = set(to_fetch[len(allowed) :])
    tries = {name: pages[name].attempts + 1 if name in pages else 1 for name in allowed}
    fresh = await asyncio.gather(
        *(_read(name, fetch_from[name] or name, settings, io) for name in allowed)
    )
    fresh = [replace(page, attempts=tries[page.url], tried_at=now) for page in fresh]
    await io.save(list(fresh))
    pages.update((page.url, page) for page in fresh)
    texts = {key: pages[url].text for key, url in url_of.items() if url in pages and pages[url].ok}
    changed: dict[str, PreparedEntry] = {}
    if texts:
        entries = [
            with_article(item.entry, texts[item.key]) for item in wanting if item.key in texts
        ]
        for again in await io.prepare(entries):
            if again.key in texts:  # the key comes from guid or link, which the text leaves alone
                changed[again.key] = replace(again, matches=article_spans(again.matches))
    return Enriched(
        tuple(changed.get(item.key, item) for item in items),
        wanted=len(wanting),
        fetched=len(allowed),
        cached=from_cache,
        retried=len(due.intersection(allowed)),
        failed=sum(1 for page in pages.values() if not page.ok),
        over_cap=sum(1 for url in url_of.values() if url in over),
        with_text=len(changed),
    )


async def _read(name: str, url: str, settings: FullTextSettings, io: ArticleIO) -> ArticlePage:
    """Download the page ``url`` (cached as ``name``) and extract its text; whatever goes
    wrong is the page's error."""
    page = await io.download(url)
    if page.error is not None:
        later = " (temporary: it may be read again)" if page.temporary else ""
        log.info(
            "article %s: %s%s; its entries are judged on their summary", url, page.error, later
        )
        return ArticlePage(name, "", page.error, len(page.body), temporary=page.temporary)
    try:
        text = await io.extract(page.body, url, settings.max_text_chars)
    except Exception as exc:  # a page the extractor chokes on must not lose its entry
        log.warning("article %s: extraction failed: %r", url, exc)
        return ArticlePage(name, "", f"extraction failed: {exc!r}"[:500], len(page.body))
    if not text:
        log.info("article %s: no article text found in the page", url)
        return ArticlePage(name, "", "no article text found in the page", len(page.body))
    return ArticlePage(name, text, None, len(page.body))
