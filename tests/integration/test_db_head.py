"""The start-up schema check: one read of the version table, Alembic only for an upgrade."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import sqlalchemy as sa

from monitor.store.db import create_engine, current_revision, head_revision, upgrade
from monitor.store.revisions import known_head
from monitor.store.store import Store


def test_the_head_read_from_the_migration_files_is_alembics() -> None:
    assert known_head() is not None
    assert known_head() == head_revision()


def test_a_current_database_opens_without_loading_alembic(db_url: str) -> None:
    Store.open(db_url).close()  # creates the schema (Alembic, in this process)
    opened = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys
                from monitor.store.store import Store
                store = Store.open(sys.argv[1])
                store.ping()
                store.close()
                print(sorted(name for name in sys.modules if name.split(".")[0] == "alembic"))
                """
            ),
            db_url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert opened.stdout.strip() == "[]"


def test_a_database_behind_is_still_brought_to_the_head(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        upgrade(engine, "0007")
        assert current_revision(engine) == "0007"
        Store.open(db_url).close()
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:  # the upgrade's own column is there
            columns = {c["name"] for c in sa.inspect(connection).get_columns("feeds")}
        assert "last_note" in columns
    finally:
        engine.dispose()


def test_the_migrations_build_the_models_schema(db_url: str) -> None:
    """Tables, columns and indexes as the models declare them: a model change without its
    migration (or the reverse, as an index dropped in one only) fails here, on each backend."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import monitor.store.articles  # noqa: F401  (the store's own import leaves it out)

    Store.open(db_url).close()  # migrated to the head
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(
                MigrationContext.configure(connection), SQLModel.metadata
            )
    finally:
        engine.dispose()
    assert differences == []
