"""Parameters handed straight to the database driver, bound as SQLAlchemy binds them.

The writer thread runs a few statements for very many rows: a cold cycle's entries, a
cycle's unchanged feeds. SQLAlchemy's per-row parameter handling costs several times
what the database spends on such a row (a feed's poll record: about 40 µs against 7),
so these statements go to the driver as it takes them (:meth:`DriverStatement.rows`).
Each value still goes through its column type's own bind processor; on SQLite a UTC date
goes through one C call (:func:`sqlite_utc_text`) that a check holds to what the column
type itself would write.

A statement is written once, with SQLAlchemy (:func:`for_driver` compiles it for the
dialect), so the driver runs the very SQL the rest of the store would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

from monitor.store.models import UTCDateTime
from monitor.store.sqlite import read_utc_text, sqlite_utc_text

Processor = Callable[[Any], Any]


def bind_processor(kind: sa.types.TypeEngine[Any], dialect: Dialect) -> Processor | None:
    """What SQLAlchemy does to a value of column type ``kind`` before the driver gets it
    on ``dialect`` (None: the value goes as it is)."""
    general: Processor | None = kind.dialect_impl(dialect).bind_processor(dialect)
    if isinstance(kind, UTCDateTime) and dialect.name == "sqlite" and same_text(general):
        return sqlite_utc_text
    return general


_PROBES = (
    datetime(2026, 12, 6, 13, 5, 9, 120, tzinfo=UTC),
    datetime(999, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=14))),
)


def same_text(general: Processor | None) -> bool:
    """Whether :func:`sqlite_utc_text` writes what ``general`` (the column type's processor on
    SQLite) writes: checked, not assumed, so a SQLAlchemy that stores dates otherwise keeps
    its own processor."""
    return general is not None and all(general(v) == sqlite_utc_text(v) for v in _PROBES)


def result_processor(kind: sa.types.TypeEngine[Any], dialect: Dialect) -> Processor | None:
    """What SQLAlchemy does to a value of column type ``kind`` the driver hands back on
    ``dialect`` (None: it is used as it comes)."""
    general: Processor | None = kind.dialect_impl(dialect).result_processor(dialect, None)
    if (
        general is not None
        and isinstance(kind, UTCDateTime)
        and dialect.name == "sqlite"
        and same_datetime(general)
    ):
        return _UTCText(general)
    return general


class _UTCText:
    """A UTC column's text on SQLite read as the column type reads it, in one C call; text
    of another form than the store writes goes to the type's own processor."""

    __slots__ = ("general",)

    def __init__(self, general: Processor) -> None:
        self.general = general

    def __call__(self, value: str) -> datetime:
        read = read_utc_text(value)
        if read is None:  # not the store's own form
            return self.general(value)  # type: ignore[no-any-return]
        return read


_TEXTS = (
    "2026-12-06 13:05:09.000120",
    "0999-01-02 08:34:05.000000",
    "2024-02-29 09:59:59.999999",
    "2026-12-07 02:00:00",
)


def same_datetime(general: Processor | None) -> bool:
    """Whether ``datetime.fromisoformat`` reads the store's own text of a UTC column as
    ``general`` (the column type's processor on SQLite) does: checked, not assumed."""
    return general is not None and all(
        general(text) == datetime.fromisoformat(text).replace(tzinfo=UTC) for text in _TEXTS
    )


def bound(values: Iterable[Any], processors: Sequence[Processor | None]) -> list[Any]:
    """One row's ``values`` as the driver takes them, each through its processor; text
    loses NUL bytes, as :func:`~monitor.store.bounds.strip_nul_bytes` does for every other
    statement (PostgreSQL refuses them)."""
    row = list(values)
    if len(row) != len(processors):
        raise ValueError(f"{len(row)} values for {len(processors)} parameters")
    for place, value in enumerate(row):  # in place: as fast as the loop written out
        if value is not None:
            if type(value) is str:
                if "\x00" in value:
                    row[place] = value.replace("\x00", "")
            elif (process := processors[place]) is not None:
                row[place] = process(value)
    return row


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement compiled for one dialect, with what it takes to bind its rows."""

    sql: str
    """The SQL as the driver runs it."""
    names: tuple[str, ...]
    """The parameters, each once."""
    processors: tuple[Processor | None, ...]
    """Each parameter's bind processor, in the order of ``names``."""
    fixed: Mapping[str, Any]
    """Values the statement sets itself (a literal in ``.values()``), by name."""
    positions: tuple[int, ...] | None
    """Where the driver takes each row as a tuple (``?``): the index in ``names`` of each
    place, a parameter used twice taking two; None where it takes a dict."""

    def rows(self, given: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Each row of ``given`` (values by parameter name) as the driver takes it."""
        out: list[Any] = []
        positions = self.positions
        for values in given:
            row = bound(
                (values[name] if name in values else self.fixed[name] for name in self.names),
                self.processors,
            )
            if positions is None:
                out.append(dict(zip(self.names, row, strict=True)))
            else:
                out.append(tuple(map(row.__getitem__, positions)))
        return out


@lru_cache(maxsize=32)
def for_driver(statement: sa.sql.ClauseElement, dialect: Dialect) -> DriverStatement:
    """``statement`` compiled for ``dialect``, once (statements are built once and kept, so
    the cache holds each by identity)."""
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)  # a DML or SELECT statement
    if compiled.post_compile_params:  # an expanding IN list: its SQL differs per row
        raise ValueError("a statement with expanding parameters cannot go to the driver as is")
    # Each parameter under the name the SQL gives it (an anonymous one's is made up here).
    binds = {compiled.bind_names[bind]: bind for bind in compiled.binds.values()}
    places = tuple(compiled.positiontup or ()) if compiled.positional else ()
    names = tuple(dict.fromkeys(places)) if compiled.positional else tuple(binds)
    return DriverStatement(
        compiled.string,
        names,
        tuple(bind_processor(binds[name].type, dialect) for name in names),
        {name: bind.effective_value for name, bind in binds.items() if not bind.required},
        tuple(names.index(name) for name in places) if compiled.positional else None,
    )
