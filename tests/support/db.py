"""Reading a test database's rows from outside the process that writes them."""

from __future__ import annotations

import sqlalchemy as sa


def rows(db_url: str, query: str) -> list[tuple[object, ...]]:
    """The rows of ``query`` on a connection of its own, closed again."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(query))]
    finally:
        engine.dispose()


def ledger(db_url: str) -> dict[str, int]:
    """Delivery rows by status."""
    return {
        str(status): int(str(n))
        for status, n in rows(db_url, "SELECT status, count(*) FROM deliveries GROUP BY status")
    }
