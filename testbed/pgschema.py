"""A fresh, empty PostgreSQL schema per test or benchmark run, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

PG_URL = os.environ.get("MONITOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_schema(prefix: str, reach: str = PG_URL) -> Iterator[str]:
    """A new schema in the server at ``PG_URL``; while in use, a URL whose ``search_path``
    is that schema. ``reach`` is the address clients use (a proxy in front of the server).

    Raises sqlalchemy's OperationalError on entering when the server cannot be reached.
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
        separator = "&" if "?" in reach else "?"
        try:
            yield f"{reach}{separator}options=-csearch_path%3D{schema}"
        finally:
            with admin.begin() as connection:
                connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()
