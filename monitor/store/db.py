"""Engines, sessions and schema migrations.

SQLite is the embedded default: WAL journal so the daemon's writer never blocks
the CLI's readers, a busy timeout so two processes wait instead of failing, and
foreign keys on. PostgreSQL takes the same models; migrations there run under
an advisory lock so replicas starting together do not race each other.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError
from monitor.store.bounds import strip_nul_bytes
from monitor.store.revisions import MIGRATIONS, known_head
from monitor.store.sqlite import SQLITE_BUSY_TIMEOUT_MS, sqlite_pragmas

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)

_MIGRATION_LOCK_ID = 0x6D6F6E69  # "moni": one id for all monitor replicas


def safe_url(url: str) -> str:
    """The URL with any password masked, fit for logs and errors."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return "<unparseable database URL>"


def short_reason(exc: BaseException) -> str:
    """What went wrong, in one line: the driver's own message, without the SQL statement,
    its parameters or SQLAlchemy's background link."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    first = text.splitlines()[0] if text else exc.__class__.__name__
    return first.split(" [SQL:")[0].split("(Background on this error")[0].strip()


def database_error(url: str, exc: BaseException) -> StoreError:
    """A StoreError that names the database (password masked) and says what to check."""
    reason = short_reason(exc)
    where = describe(url)
    if "readonly database" in reason or "read-only" in reason:
        return StoreError(f"cannot write to {where}: it is read-only ({reason})")
    return StoreError(f"database error on {where}: {reason}")


def describe(url: str) -> str:
    """The database for a person: a SQLite file by its path, any other by its masked URL."""
    try:
        parsed = make_url(url)
    except (SQLAlchemyError, ValueError):
        return safe_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return f"the SQLite database {parsed.database.removeprefix('file:')}"
    return safe_url(url)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for another backend, memory, or a ``file:`` URI
    (``?uri=true``: SQLite opens it as given)."""
    try:
        parsed = make_url(url)
    except (SQLAlchemyError, ValueError):
        return None
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    return None if database.startswith("file:") else Path(database)


def create_engine(
    url: str, connect_timeout: float = 10.0, statement_timeout: float = 60.0
) -> Engine:
    """An engine for ``url`` with the per-backend settings above. On PostgreSQL,
    ``connect_timeout`` bounds opening a connection and ``statement_timeout`` any one
    statement (seconds; the defaults are the config's, ``database_*_timeout``), so that
    an unreachable or locked database fails a call instead of hanging it. Every engine
    strips NUL bytes from text on its way in (:mod:`monitor.store.bounds`)."""
    engine = _engine(url, connect_timeout, statement_timeout)
    sa.event.listen(engine, "before_cursor_execute", strip_nul_bytes, retval=True)
    return engine


def _engine(url: str, connect_timeout: float, statement_timeout: float) -> Engine:
    try:
        parsed = make_url(url)
    except (SQLAlchemyError, ValueError) as exc:
        raise StoreError(f"bad database URL {safe_url(url)}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        file = sqlite_file(url)
        if file is not None:
            _create_private(file)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        sa.event.listen(engine, "connect", _sqlite_connected)
        sa.event.listen(engine, "checkin", _sqlite_release)
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args = {
            "connect_timeout": max(2, math.ceil(connect_timeout)),  # libpq: whole seconds, >= 2
            # Added to the URL's own options (a search_path, say), not in their place.
            "options": " ".join(
                part
                for part in (
                    str(parsed.query.get("options") or ""),
                    f"-c statement_timeout={math.ceil(statement_timeout * 1000)}",
                )
                if part
            ),
        }
    return sa.create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=connect_args
    )


def _create_private(file: Path) -> None:
    """The database's folder (0700) and an empty file (0600), if missing: entries, errors
    and delivery targets are nobody else's to read. SQLite gives its -wal and -shm files
    the database file's mode."""
    hint = "(set database: or MONITOR_DATABASE_URL to a writable place)"
    try:
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the folder {file.parent} for the SQLite database {file}: "
            f"{exc.strerror or exc} {hint}"
        ) from exc
    if os.path.isdir(file):
        raise StoreError(f"cannot use the SQLite database {file}: it is a folder {hint}")
    if os.path.lexists(file):
        return  # left as it is: a read-only one is named by the first write
    try:
        os.close(os.open(file, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise StoreError(
            f"cannot create the SQLite database {file}: {exc.strerror or exc} {hint}"
        ) from exc


def _sqlite_connected(dbapi_connection: Any, _record: Any) -> None:
    sqlite_pragmas(dbapi_connection)


def _sqlite_release(dbapi_connection: Any, _record: Any) -> None:
    """A connection back in the pool gives its page cache back (``PRAGMA shrink_memory``).

    Each group commit touches pages all over the dedup key index, more than the cache
    holds, so what a group leaves in the cache barely helps the next (measured on 30,000
    entries of 40 random keys: the same CPU time with groups of 240 entries, a few per cent
    more with groups of 30); kept, it is 16 MiB held through every idle minute and through
    a poll of unchanged feeds, which writes a few pages a feed."""
    if dbapi_connection is None:  # invalidated: nothing left to release
        return
    with contextlib.suppress(sqlite3.Error):  # a connection that cannot is still usable
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA shrink_memory")
        cursor.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (Alembic); safe to call on every start."""
    connected = False
    try:
        with engine.begin() as connection:
            connected = True
            if revision == "head" and _at_head(connection):
                return  # every start but the first after an upgrade: Alembic stays unloaded
            from alembic import command

            if connection.dialect.name == "postgresql":
                # A migration may rewrite a large table: the statement timeout is for work.
                connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
                )
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        url = str(engine.url)
        if not connected:
            raise connect_error(url, exc) from exc
        problem = database_error(url, exc)
        if str(problem).startswith("cannot write"):
            raise problem from exc
        raise StoreError(f"cannot migrate {safe_url(url)}: {short_reason(exc)}") from exc


def connect_error(url: str, exc: BaseException) -> StoreError:
    reason = short_reason(exc)
    if "readonly database" in reason:  # SQLite sets its pragmas as it connects
        return database_error(url, exc)
    return StoreError(f"cannot connect to {safe_url(url)}: {reason}")


def _alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    """The newest migration this version of monitor knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _at_head(connection: Connection) -> bool:
    """Whether the schema is already at the newest migration: one cheap read of Alembic's
    version table. Anything else (no table yet, an older or unknown revision, several
    rows) is left to Alembic, under the migration lock."""
    head = known_head()
    if head is None or not sa.inspect(connection).has_table("alembic_version"):
        return False
    rows = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    return [row[0] for row in rows] == [head]


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None before the first upgrade."""
    from alembic.runtime.migration import MigrationContext

    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:
        raise connect_error(str(engine.url), exc) from exc
    try:
        with connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise database_error(str(engine.url), exc) from exc


def probe(url: str) -> str:
    """Where the database stands, for ``monitor check``: connects, changes nothing.

    Returns ``up to date``, ``behind (...)``, ``empty`` or, for a SQLite file not made
    yet, ``not created yet``; raises StoreError when it cannot be reached or read.
    """
    file = sqlite_file(url)
    if file is not None:
        try:
            exists, folder = file.exists(), file.is_dir()
        except OSError as exc:  # a folder on the way not searchable, a name too long
            raise StoreError(
                f"cannot reach the SQLite database {file}: {exc.strerror or exc}"
            ) from exc
        if folder:
            raise StoreError(f"cannot use the SQLite database {file}: it is a folder")
        if not exists:
            _check_creatable(file)
            return "not created yet (the first command that uses it creates it)"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    if current is None:
        return "empty (the first command that uses it creates the tables)"
    if current == head:
        return f"up to date (revision {current})"
    return f"behind (revision {current}, this version needs {head}; `monitor db upgrade`)"


def _check_creatable(path: Path) -> None:
    """Raise StoreError when the SQLite file could not be created where it is asked for."""
    ancestor = path.parent.absolute()
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise StoreError(f"cannot create the SQLite database {path}: {ancestor} is not a folder")
    try:  # the one sure test (permissions, read-only mounts, /proc); leaves nothing behind
        os.rmdir(tempfile.mkdtemp(prefix=".monitor-check-", dir=ancestor))
    except OSError as exc:
        raise StoreError(
            f"cannot create the SQLite database {path}: cannot write in {ancestor} "
            f"({exc.strerror or exc})"
        ) from exc
