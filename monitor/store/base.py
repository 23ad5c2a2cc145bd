"""The database handle every repository shares: engine, sessions, transactions.

Each aggregate has its repository module over this base (:mod:`~monitor.store.feeds`,
:mod:`~monitor.store.entries`, :mod:`~monitor.store.stories`,
:mod:`~monitor.store.outbox`, :mod:`~monitor.store.schedules`), and
:class:`monitor.store.store.Store` composes them into the one handle the daemon
passes around. No SQL or session appears outside ``monitor/store``; driver errors
become :class:`~monitor.errors.StoreError`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, Self, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from monitor.store.db import create_engine, database_error, upgrade

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite


class Sessions(Protocol):
    """What code that writes its own statements inside ``monitor/store`` needs
    (retention): the backend's name and a session."""

    @property
    def backend(self) -> str: ...

    def session(self) -> AbstractContextManager[Session]: ...


class StoreBase:
    """The engine, and sessions that share one transaction when asked to."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()  # the transaction() this thread is inside, if any
        # A Store dropped without close() still closes its connections: left to the garbage
        # collector, a driver connection is dropped unclosed (psycopg warns, the server
        # keeps the session until it notices).
        weakref.finalize(self, engine.dispose)

    @classmethod
    def open(
        cls,
        url: str,
        migrate: bool = True,
        connect_timeout: float = 10.0,
        statement_timeout: float = 60.0,
    ) -> Self:
        """Connect to ``url`` and, unless told not to, bring the schema up to date
        (timeouts: see :func:`~monitor.store.db.create_engine`)."""
        engine = create_engine(url, connect_timeout, statement_timeout)
        if migrate:
            upgrade(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success, rolled back on error; inside
        :meth:`transaction`, that transaction's session."""
        shared: Session | None = getattr(self._local, "session", None)
        if shared is not None:
            try:
                yield shared
            except SQLAlchemyError as exc:
                raise database_error(str(self.engine.url), exc) from exc
            return
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
                session.commit()
        except SQLAlchemyError as exc:
            raise database_error(str(self.engine.url), exc) from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Make every Store call this thread makes inside one transaction, committed at
        the end (all or nothing): a feed's reads, entries and poll record take one
        commit instead of one each."""
        if getattr(self._local, "session", None) is not None:
            yield  # already inside one
            return
        with self.session() as session:
            self._local.session = session
            try:
                yield
            finally:
                self._local.session = None

    def ping(self) -> None:
        """Raise StoreError unless the database answers."""
        with self.session() as session:
            session.exec(select(sa.literal(1))).one()


def as_utc(value: datetime) -> datetime:
    # Aggregates bypass the column type, so a bare MIN() comes back naive (or as text on SQLite).
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def table_of(model: type[Any]) -> sa.Table:
    """A model's Core table (for statements that load no rows)."""
    return cast(sa.Table, model.__table__)


def upsert(backend: str, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can take ON CONFLICT, in the backend's dialect. The PostgreSQL
    dialect loads only on PostgreSQL: a twentieth of a second at every start on SQLite."""
    if backend == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)
