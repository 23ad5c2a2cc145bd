"""What a column can hold, checked before the database is asked to.

On PostgreSQL a value longer than its ``VARCHAR(n)`` column, or any text with
a NUL byte, is a DataError that rolls back the whole transaction: one odd
header or item would keep a feed's poll from ever being recorded. SQLite
would store either silently. So values from outside (feed headers, redirect
targets) are checked against the column here, and one that does not fit is
left out with a reason; NUL bytes are removed from every parameter as the
statement goes out (:func:`strip_nul_bytes`, installed on every engine).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel


@lru_cache(maxsize=256)
def column_length(model: type[SQLModel], name: str) -> int | None:
    """The declared length of a ``VARCHAR(n)`` column; None for unbounded text (read once:
    a cycle of unchanged feeds asks twice a feed)."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    column_type = table.c[name].type
    return getattr(column_type, "length", None)


def fitting(
    value: str | None, model: type[SQLModel], name: str, what: str
) -> tuple[str | None, str | None]:
    """``value`` if the column holds it, else None and the reason it was left out."""
    limit = column_length(model, name)
    if value is None or limit is None or len(value) <= limit:
        return value, None
    return None, f"{what} of {len(value):,} characters not kept (at most {limit:,})"


NO_TEXT = "monitor_no_text"
"""Execution option of a statement whose parameters hold no text (the dedup keys' many
integer rows): :func:`strip_nul_bytes` lets them through untouched, since walking a
million parameters costs more than the inserts they go with."""


def strip_nul_bytes(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, _many: bool
) -> tuple[str, Any]:
    """``before_cursor_execute`` hook: every text parameter without NUL bytes."""
    if context is not None and context.execution_options.get(NO_TEXT):
        return statement, parameters
    return statement, _clean(parameters)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clean(item) for item in value)
    return value
