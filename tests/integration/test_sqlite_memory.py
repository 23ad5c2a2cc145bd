"""A SQLite connection holds its page cache while it is used, not while it waits in the pool."""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import sqlalchemy as sa

from monitor.store.db import create_engine
from monitor.store.sqlite import SQLITE_CACHE_KIB

MIB = 1 << 20


def sqlite_memory() -> int:
    """Bytes SQLite has allocated in this process (``sqlite3_status64``, MEMORY_USED)."""
    library = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    current, highest = ctypes.c_int64(), ctypes.c_int64()
    assert library.sqlite3_status64(0, ctypes.byref(current), ctypes.byref(highest), 0) == 0
    return current.value


def test_a_pooled_connection_gives_its_page_cache_back(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"))
            connection.execute(
                sa.text(
                    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 20000)"
                    " INSERT INTO t SELECT x, hex(randomblob(400)) FROM n"
                )
            )
        before = sqlite_memory()
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*), sum(length(v)) FROM t")).one() == (
                20000,
                20000 * 800,
            )
            in_use = sqlite_memory()
        back = sqlite_memory()
        assert in_use - before > 8 * MIB  # the cache filled while the connection read
        assert in_use - back > 8 * MIB  # and went back with the connection
        with engine.connect() as connection:  # the same pooled connection, its settings kept
            cache = connection.execute(sa.text("PRAGMA cache_size")).scalar()
            assert cache == -SQLITE_CACHE_KIB
            assert connection.execute(sa.text("SELECT count(*) FROM t")).scalar() == 20000
    finally:
        engine.dispose()
