"""The dates of a cold cycle's entries are bound on SQLite by a shortcut
(``sqlite_utc_text``): it must write exactly what the column type's own processor
writes, for any aware datetime, and be used only where it does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from monitor.store.binds import same_text, sqlite_utc_text
from monitor.store.entries import _entry_processors
from monitor.store.models import EntryRow, UTCDateTime

SQLITE = sqlite.dialect()
GENERAL = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)

offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=offsets
)


@given(aware)
def test_the_shortcut_writes_what_the_column_type_writes(value: datetime) -> None:
    assert GENERAL is not None
    assert sqlite_utc_text(value) == GENERAL(value)


def test_a_naive_date_is_refused_as_the_column_type_refuses_it() -> None:
    assert GENERAL is not None
    naive = datetime(2026, 12, 6, 12, 0)
    with pytest.raises(ValueError, match="naive datetime"):
        GENERAL(naive)
    with pytest.raises(ValueError, match="naive datetime"):
        sqlite_utc_text(naive)


def test_used_for_the_date_columns_on_sqlite_only() -> None:
    columns = ("key", "published_at", "first_seen_at", "alertable")
    on_sqlite = _entry_processors(SQLITE, columns)
    assert on_sqlite[1] is on_sqlite[2] is sqlite_utc_text
    assert on_sqlite[0] is None
    on_postgresql = _entry_processors(postgresql.dialect(), columns)  # type: ignore[no-untyped-call]
    assert sqlite_utc_text not in on_postgresql
    assert EntryRow.__table__.c.published_at.type.__class__ is UTCDateTime  # type: ignore[attr-defined]


def test_a_processor_that_writes_otherwise_is_kept() -> None:
    def other(value: datetime) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%S")

    assert same_text(GENERAL)
    assert not same_text(other)
    assert not same_text(None)
    assert sqlite_utc_text(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0999-01-02 03:04:05.000000"
