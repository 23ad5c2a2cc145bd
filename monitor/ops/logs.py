"""Logging set-up: one readable line per event on stderr."""

from __future__ import annotations

import logging
import os
import sys

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(level: str | None = None) -> None:
    chosen = (level or os.environ.get("MONITOR_LOG_LEVEL") or "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, "%Y-%m-%dT%H:%M:%S%z"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(chosen)
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
