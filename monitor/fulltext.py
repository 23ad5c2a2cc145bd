"""Full article text for teaser feeds: which entries want their article page, and what
the page's text changes about them. Pure decisions; the I/O is in :mod:`monitor.enrich`.

A feed's ``full_text:`` setting (:data:`FullTextMode`) says which of its entries get
their article page read:

* ``off`` (or ``false``, the default): none; entries are judged on what the feed says.
* ``matching`` (or ``true``): entries a watch may match once the article is read
  (:class:`TeaserFilter` states the rule).
* ``always``: every entry (a teaser-only feed whose headlines say little).

Either way only an entry the feed gives no full text for (empty ``content``) and
with a web link of its own is read. The article text becomes the entry's
``content``, so matching and dedup use it; the feed's summary stays the entry's
``summary``; and a match found in the article text says so: its spans name the
field ``article`` (:func:`article_spans`), which explain and the digest show as
"from the article".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BeforeValidator, Field

from monitor.fields import MAX_URL_CHARS, Duration, SettingsModel
from monitor.types import Entry, Match

if TYPE_CHECKING:
    from monitor.rules.aliases import Aliases

FullTextMode = Literal["off", "matching", "always"]

ARTICLE_FIELD = "article"
"""The span field of a hit in the article text (held in the entry's ``content``)."""


def _mode(value: object) -> object:
    # YAML's true/false read as the two plain choices.
    if value is True:
        return "matching"
    if value is False or value is None:
        return "off"
    return value


FullText = Annotated[FullTextMode, BeforeValidator(_mode)]
"""A feed's ``full_text:`` value: ``off``/``false``, ``matching``/``true`` or ``always``."""


class FullTextSettings(SettingsModel):
    """The config's ``full_text:`` section: limits on reading article pages.

    Article pages go through the feeds' fetcher: the SSRF guard, the redirect
    limit and the per-host and global concurrency of ``fetch:`` apply to them too.
    """

    max_article_bytes: int = Field(default=3_000_000, gt=0)
    """Largest decoded article page read; news pages weigh 0.1-2 MB with their inline scripts."""
    timeout: Duration = timedelta(seconds=15)
    """Whole-request deadline for one page: a slow site must not hold its feed's poll long."""
    max_articles_per_feed: int = Field(default=20, ge=0)
    """Pages read for one feed in one poll: a burst of new items must not become a crawl;
    the rest are judged on their summary."""
    max_text_chars: int = Field(default=100_000, gt=0)
    """Extracted text kept per article: a long article is under 60,000 characters."""
    retry_after: Duration = timedelta(hours=1)
    """Wait before reading again a page that failed for a temporary reason (timeout,
    connection error, 5xx, 429): an outage or a rate limit is usually over within the hour."""
    max_attempts: int = Field(default=3, ge=1)
    """Reads of one page in all, the first included: a site still failing after three
    tries hours apart is down for longer than its news stays news."""


def article_url(entry: Entry) -> str | None:
    """The page to read for ``entry``: its link as published (the canonical form may
    change the scheme), when it is a web address that fits the cache's column."""
    url = entry.link
    if not url or len(url) > MAX_URL_CHARS or not url.lower().startswith(("http://", "https://")):
        return None
    return url


def article_key(entry: Entry) -> str | None:
    """The cache's name for ``entry``'s page: its canonical link (tracking parameters
    dropped), so a page two feeds link to with different tags is read once."""
    if article_url(entry) is None:
        return None
    key = entry.canonical_link or entry.link
    return key if key and len(key) <= MAX_URL_CHARS else None


class TeaserFilter:
    """Which entries a watch may match once their article text is read.

    The rule: an entry is worth reading when its title, summary, source or link
    already holds at least one word (or prefix) that some watch's query needs
    somewhere (the rule index's requirement keys, :mod:`monitor.rules.index`).
    A story on a watched topic names it, or one of the words around it, in its
    headline or teaser; an entry that shows none of the words any watch needs
    is not read. It may let through entries no watch then matches (a common
    word), never the other way round for an article whose teaser names one of
    the watch's words. Watches' ``exclude`` queries are ignored: they can only
    stop a match.
    """

    __slots__ = ("_index",)

    def __init__(self, queries: Sequence[str], aliases: Aliases) -> None:
        from monitor.rules.engine import compile_query
        from monitor.rules.index import RuleIndex

        clauses = []
        for query in queries:
            compiled = compile_query(query, aliases)
            keys = frozenset().union(*compiled.requirements)
            clauses.append((keys,) if keys else ())
        # One clause per watch, the union of all its keys: any one of them found is enough.
        self._index = RuleIndex(clauses)

    def may_match(self, entry: Entry) -> bool:
        from monitor.rules.document import FoldedEntry
        from monitor.rules.fields import FIELD_ORDER

        haystack = FoldedEntry(entry).haystack(FIELD_ORDER)
        return bool(self._index.candidates(haystack))


def wants_article(entry: Entry, mode: FullTextMode, teasers: TeaserFilter | None) -> bool:
    """Whether ``entry``, new in a feed set to ``mode``, gets its article page read."""
    if mode == "off" or entry.content.strip() or article_url(entry) is None:
        return False
    if mode == "always":
        return True
    return teasers is not None and teasers.may_match(entry)


def with_article(entry: Entry, text: str) -> Entry:
    """``entry`` with the article's text as its content (its summary kept)."""
    return replace(entry, content=text)


def article_spans(matches: Sequence[Match]) -> tuple[Match, ...]:
    """``matches`` on an entry whose content is the article text, with the hits in it named
    ``article`` so that the digest and explain can say where the match came from."""
    return tuple(
        replace(
            match,
            spans=tuple(
                replace(span, field=ARTICLE_FIELD) if span.field == "content" else span
                for span in match.spans
            ),
        )
        for match in matches
    )


@dataclass(frozen=True, slots=True)
class ArticlePage:
    """What reading one article page gave: its text, or why there is none."""

    url: str
    """The page's name in the cache (:func:`article_key`)."""
    text: str
    """The extracted article text, clipped; empty when the read failed."""
    error: str | None = None
    """Why there is no text (HTTP status, refused address, too large, nothing extracted)."""
    size: int = 0
    """Decoded bytes of the page."""
    temporary: bool = False
    """The failure may fix itself (timeout, connection error, 5xx, 429): the page may be
    read again (:func:`retry_due`). False for a page read and for a permanent failure
    (404/410, too large, refused address, not HTML, nothing extracted)."""
    attempts: int = 1
    """Reads of the page so far, this one included."""
    tried_at: datetime | None = None
    """When the page was last read or tried (None for a page not yet recorded)."""

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.text)


def retry_due(page: ArticlePage, now: datetime, settings: FullTextSettings) -> bool:
    """Whether the cached ``page`` is read again now: only a temporary failure, tried
    fewer than ``full_text.max_attempts`` times, last ``full_text.retry_after`` ago or more."""
    if page.ok or not page.temporary or page.attempts >= settings.max_attempts:
        return False
    return page.tried_at is None or now - page.tried_at >= settings.retry_after
