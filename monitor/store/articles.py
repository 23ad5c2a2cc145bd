"""The article page cache: each page read for a ``full_text`` feed, once ever.

A page is looked up here before it is fetched, and recorded (its text, or why
there is none) after, so an article URL is fetched at most once, across polls,
feeds, replicas and restarts. A failed read is remembered as well, with whether
it may fix itself: a page that answered 404 or was too large is not asked for
again; one that timed out or answered 5xx/429 is tried again after
``full_text.retry_after``, up to ``full_text.max_attempts`` reads, and each try
replaces its record (:func:`monitor.fulltext.retry_due`). Until a read works,
entries linking to the page are judged on their summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field, SQLModel, col, select

from monitor.fields import MAX_URL_CHARS
from monitor.fulltext import ArticlePage
from monitor.store.base import Sessions, table_of, upsert
from monitor.store.lists import chunked
from monitor.store.models import UTCDateTime


class ArticleRow(SQLModel, table=True):
    """One article page read (or tried) for a ``full_text`` feed."""

    __tablename__: ClassVar[str] = "articles"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=MAX_URL_CHARS, unique=True)
    """The page's canonical address (:func:`monitor.fulltext.article_url`)."""
    fetched_at: datetime = Field(sa_type=UTCDateTime)
    text: str = Field(default="", sa_type=sa.Text)
    """The extracted article text; empty when the read failed."""
    error: str | None = Field(default=None, sa_type=sa.Text)
    """Why there is no text; None for a page read."""
    size: int = 0
    """Decoded bytes of the page."""
    temporary: bool = False
    """The failure may fix itself (timeout, connection error, 5xx, 429): tried again later."""
    attempts: int = 1
    """Reads of the page so far; ``fetched_at`` is the last."""


def cached_articles(store: Sessions, urls: Iterable[str]) -> dict[str, ArticlePage]:
    """The pages among ``urls`` already read or tried, by URL."""
    wanted = list(dict.fromkeys(urls))
    found: dict[str, ArticlePage] = {}
    with store.session() as session:
        for chunk in chunked(wanted):
            for row in session.exec(select(ArticleRow).where(col(ArticleRow.url).in_(chunk))):
                found[row.url] = ArticlePage(
                    row.url,
                    row.text,
                    row.error,
                    row.size,
                    temporary=row.temporary,
                    attempts=row.attempts,
                    tried_at=row.fetched_at,
                )
    return found


def save_articles(store: Sessions, pages: Sequence[ArticlePage], now: datetime) -> None:
    """Record ``pages``. A page tried again replaces its record only while that record is a
    temporary failure: a page another replica read (or failed for good) first keeps its row."""
    if not pages:
        return
    table = table_of(ArticleRow)
    rows = [
        {
            "url": p.url,
            "fetched_at": now,
            "text": p.text,
            "error": p.error,
            "size": p.size,
            "temporary": p.temporary,
            "attempts": p.attempts,
        }
        for p in pages
    ]
    with store.session() as session:
        for row in rows:  # one by one: the replacement reads each row's own values
            insert = upsert(store.backend, table).values(row)
            session.execute(
                insert.on_conflict_do_update(
                    index_elements=["url"],
                    set_={name: insert.excluded[name] for name in row if name != "url"},
                    where=table.c.temporary.is_(True),
                )
            )
