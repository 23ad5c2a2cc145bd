"""Logging: JSON lines for machines, readable lines for people.

``auto`` picks JSON when stderr is not a terminal (a container, systemd, a
pipe into a log shipper) and readable lines on a terminal. Log calls add the
ids they are about with ``extra={"feed": url}``, ``{"alert": name}``,
``{"delivery": id}`` or ``{"replica": id}``: JSON puts them in fields of
their own, so "every log line of this feed" is one query. Credentials in URLs
(a feed's ``?token=``, a chat webhook's path) are masked in every record
(:func:`redact_record`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from monitor.redact import redact_urls

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("auto", "json", "text")
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
CONTEXT_KEYS = ("feed", "alert", "delivery", "digest", "replica", "channel")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context ids, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = redact_urls(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask URL credentials (feed tokens, chat webhook URLs) in a record's message (the
    ``extra`` ids are set after the record is made: :class:`JsonFormatter` masks them)."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a bad format string: let the handler report it
        return record
    cleaned = redact_urls(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    return record


def _redacting(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    if getattr(factory, "redacts", False):
        return factory

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(factory(*args, **kwargs))

    make.redacts = True  # type: ignore[attr-defined]
    return make


def setup_logging(level: str | None = None, style: str = "auto") -> None:
    chosen = (level or os.environ.get("MONITOR_LOG_LEVEL") or "INFO").upper()
    use_json = style == "json" or (style == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if use_json else logging.Formatter(LOG_FORMAT, "%Y-%m-%dT%H:%M:%S%z")
    )
    # At the record, not a handler: every handler (the progress bar's too) gets it masked.
    logging.setLogRecordFactory(_redacting(logging.getLogRecordFactory()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(chosen)
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
