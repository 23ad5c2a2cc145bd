"""Engines, sessions and schema migrations.

SQLite is the embedded default: WAL journal so the daemon's writer never blocks
the CLI's readers, a busy timeout so two processes wait instead of failing, and
foreign keys on. PostgreSQL takes the same models; migrations there run under
an advisory lock so replicas starting together do not race each other.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = (
    30_000  # long enough for a digest transaction; short enough to notice a hang
)
_MIGRATION_LOCK_ID = 0x6D6F6E69  # "moni": one id for all monitor replicas
# A checkpoint copies the WAL back into the database; every 10,000 pages (about
# 40 MiB of WAL) instead of SQLite's 1,000, so that a page the index writes again
# and again (dedup_keys takes ~40 rows per entry, at random places) is copied once
# per checkpoint rather than ten times: a large first poll stores a third faster.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
SQLITE_CACHE_KIB = 16_384  # page cache per connection (SQLite's default is 2 MiB)


def safe_url(url: str) -> str:
    """The URL with any password masked, fit for logs and errors."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return "<unparseable database URL>"


def create_engine(url: str) -> Engine:
    """An engine for ``url`` with the per-backend settings above."""
    try:
        parsed = make_url(url)
    except (SQLAlchemyError, ValueError) as exc:
        raise StoreError(f"bad database URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (Alembic); safe to call on every start."""
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
                )
            config = AlembicConfig()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot migrate {safe_url(str(engine.url))}: {exc.__class__.__name__}: {exc}"
        ) from exc


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None before the first upgrade."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
