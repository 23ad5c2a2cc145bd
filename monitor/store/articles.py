"""The article page cache: each page read for a ``full_text`` feed, once ever.

A page is looked up here before it is fetched, and recorded (its text, or why
there is none) after, so an article URL is fetched at most once, across polls,
feeds, replicas and restarts. A failed read is remembered as well: a page that
answered 404, was too large or too slow is not asked for again, and entries
linking to it are judged on their summary.
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


def cached_articles(store: Sessions, urls: Iterable[str]) -> dict[str, ArticlePage]:
    """The pages among ``urls`` already read or tried, by URL."""
    wanted = list(dict.fromkeys(urls))
    found: dict[str, ArticlePage] = {}
    with store.session() as session:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for row in session.exec(select(ArticleRow).where(col(ArticleRow.url).in_(chunk))):
                found[row.url] = ArticlePage(row.url, row.text, row.error, row.size)
    return found


def save_articles(store: Sessions, pages: Sequence[ArticlePage], now: datetime) -> None:
    """Record ``pages``; a page another replica recorded first keeps its row."""
    if not pages:
        return
    table = table_of(ArticleRow)
    rows = [
        {"url": p.url, "fetched_at": now, "text": p.text, "error": p.error, "size": p.size}
        for p in pages
    ]
    with store.session() as session:
        session.execute(
            upsert(store.backend, table).values(rows).on_conflict_do_nothing(index_elements=["url"])
        )
