"""The newest schema revision this version of monitor knows, read without Alembic or
SQLAlchemy: every start checks it (:func:`monitor.store.db.upgrade`, and the express pass
of unchanged feeds, :mod:`monitor.store.express`), and loading Alembic to ask costs a tenth
of a second."""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"

_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.M)


@lru_cache(maxsize=1)
def known_head() -> str | None:
    """The newest migration, read from the migration files' ``revision`` and
    ``down_revision`` lines; None when the files do not name exactly one head, and Alembic
    then decides. tests/integration/test_db_head.py checks that this agrees with
    :func:`monitor.store.db.head_revision`."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, text in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return None
            names = [value] if isinstance(value, str) else list(value or ())
            (revisions if name == "revision" else revised).update(names)
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None
