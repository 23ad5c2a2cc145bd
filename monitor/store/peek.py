"""A glance at a SQLite database with the standard library alone, before the store opens.

``monitor poll`` starts its parser processes ahead when the poll will parse (feeds
never parsed). The store, which knows it for certain, takes SQLAlchemy and the models
to open: by then the process the workers are forked from could have been importing
the parser for a good part of a second, on a core that start-up leaves idle. This
reads the answer off the file at once.

A hint only: a wrong answer costs time, never a result. The pipeline decides for
itself once the store is open (:meth:`monitor.pipeline.Pipeline.start`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection
from contextlib import closing
from pathlib import Path
from urllib.parse import quote, unquote

_SQLITE_FILE = re.compile(r"^sqlite(?:\+pysqlite)?:///([^?]+)$")


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL without options, read as :func:`monitor.store.db.sqlite_file`
    reads it (a test holds them to it) but without SQLAlchemy, whose import this glance
    exists to run ahead of; None for any other URL, memory, or a ``file:`` URI."""
    found = _SQLITE_FILE.match(database_url)
    if found is None:
        return None
    database = unquote(found.group(1))
    return None if database == ":memory:" or database.startswith("file:") else Path(database)


def unparsed_feeds(database_url: str, urls: Collection[str]) -> bool | None:
    """Whether some of ``urls`` will be parsed for the first time: True when one has no
    row yet, or a row never parsed and not disabled (as
    :meth:`~monitor.store.feeds.FeedsRepository.sync_feeds` counts them), or when the
    SQLite file ``database_url`` names does not exist yet; False when every one was
    parsed (or is disabled). None when it cannot tell so cheaply: another database, a
    URL with options, an in-memory database, a file it cannot read as one."""
    path = sqlite_path(database_url)
    if path is None:
        return None
    if not urls:
        return False
    if not path.exists():
        return True
    try:
        # Read-only, and never waiting on a writer: a busy database gets no hint.
        with closing(
            sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=0)
        ) as db:
            settled = {
                url
                for (url,) in db.execute(
                    "SELECT url FROM feeds WHERE body_hash IS NOT NULL OR disabled_at IS NOT NULL"
                )
            }
    except sqlite3.Error:
        return None
    return any(url not in settled for url in urls)
