"""Statements handed straight to the driver (:mod:`monitor.store.binds`): each row bound in
the form the dialect's driver takes, by the column types' own processors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from monitor.store.base import table_of
from monitor.store.binds import for_driver, result_processor
from monitor.store.models import FeedRow, UTCDateTime

FEEDS = table_of(FeedRow)
WHEN = datetime(2026, 12, 7, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
UPDATE = (
    sa.update(FEEDS)
    .where(FEEDS.c.url == sa.bindparam("u_url"))
    .values(last_polled_at=sa.bindparam("u_now", type_=FEEDS.c.last_polled_at.type), last_error=None, consecutive_failures=0)
)  # fmt: skip


def test_sqlite_takes_rows_by_position_with_each_value_as_the_column_type_binds_it() -> None:
    statement = for_driver(UPDATE, sqlite.dialect())
    assert statement.positions is not None
    assert statement.sql.count("?") == len(statement.positions) == 4
    (row,) = statement.rows([{"u_url": "https://a.example/\x00feed.xml", "u_now": WHEN}])
    by_name = {statement.names[i]: value for i, value in zip(statement.positions, row, strict=True)}
    assert by_name == {
        "u_url": "https://a.example/feed.xml",  # no NUL byte, as for every statement
        "u_now": "2026-12-07 14:30:00.000000",  # naive UTC, as the column stores it
        "last_error": None,
        "consecutive_failures": 0,
    }


def test_postgresql_takes_rows_by_name() -> None:
    statement = for_driver(UPDATE, postgresql.psycopg.dialect())  # type: ignore[no-untyped-call]
    (row,) = statement.rows([{"u_url": "https://a.example/feed.xml", "u_now": WHEN}])
    assert "%(u_now)s" in statement.sql
    assert row == {
        "u_url": "https://a.example/feed.xml",
        "u_now": datetime(2026, 12, 7, 14, 30),
        "last_error": None,
        "consecutive_failures": 0,
    }


def test_a_statement_whose_sql_depends_on_its_values_is_refused() -> None:
    listing = sa.select(FEEDS.c.id).where(FEEDS.c.url.in_(sa.bindparam("urls", expanding=True)))
    with pytest.raises(ValueError, match="expanding"):
        for_driver(listing, sqlite.dialect())


def test_a_parameter_the_sql_names_twice_is_bound_once_and_placed_twice() -> None:
    twice = (
        sa.update(FEEDS)
        .where(FEEDS.c.url == sa.bindparam("u_url"))
        .values(
            last_polled_at=sa.bindparam("u_now", type_=FEEDS.c.last_polled_at.type),
            last_success_at=sa.bindparam("u_now", type_=FEEDS.c.last_polled_at.type),
        )
    )
    statement = for_driver(twice, sqlite.dialect())
    assert statement.names.count("u_now") == 1
    (row,) = statement.rows([{"u_url": "https://a.example/feed.xml", "u_now": WHEN}])
    assert row == (
        "2026-12-07 14:30:00.000000",
        "2026-12-07 14:30:00.000000",
        "https://a.example/feed.xml",
    )


def test_a_utc_column_is_read_on_sqlite_as_its_type_reads_it() -> None:
    dialect = sqlite.dialect()
    fast = result_processor(UTCDateTime(), dialect)
    general = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert fast is not None
    assert fast is not general  # the shortcut
    for text in (
        "2026-12-07 14:30:00.000250",  # the store's own form
        "2026-12-07 14:30:00",
        "2026-12-07T14:30:00.5",
        "2026-12-07 14:30:00+05:00",  # not the store's form: the type's own reading
    ):
        assert fast(text) == general(text), text
    assert fast("2026-12-07 14:30:00.000250") == datetime(2026, 12, 7, 14, 30, 0, 250, tzinfo=UTC)
    assert result_processor(UTCDateTime(), postgresql.psycopg.dialect()) is not None  # type: ignore[no-untyped-call]
