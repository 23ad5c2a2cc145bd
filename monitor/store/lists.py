"""Lists of values in SQL written for the driver: how many to a statement, and their marks.

Apart from :mod:`monitor.store.base` and :mod:`monitor.store.binds` (which load
SQLAlchemy) so that the express pass of unchanged feeds (:mod:`monitor.store.express`)
writes its lists as the store does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

_T = TypeVar("_T")

IN_LIST_SIZE = 500
"""Values per ``IN (...)`` list, and rows per multi-row statement, unless a caller says
otherwise: a statement stays well under SQLite's cap on its parameters (32,766 since
3.32) even where it holds a list more than once, and its text short."""


def chunked(items: Sequence[_T], size: int = IN_LIST_SIZE) -> Iterator[Sequence[_T]]:
    """``items`` in consecutive slices of at most ``size``, in order."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def placeholders(backend: str, count: int = 1) -> str:
    """``count`` parameters, comma-separated, as SQL written for the driver marks them:
    psycopg's ``%s``, sqlite3's ``?``."""
    return ", ".join(["%s" if backend == "postgresql" else "?"] * count)
