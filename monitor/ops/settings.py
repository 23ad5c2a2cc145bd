"""The config's ``ops:`` section: the operations endpoint and the log format.

:mod:`monitor.config` places it under ``ops:``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from monitor.fields import SettingsModel


class OpsSettings(SettingsModel):
    """The operations endpoint of ``monitor run``: /healthz, /readyz, /metrics."""

    enabled: bool = True
    host: str = "127.0.0.1"
    """Loopback by default: metrics are not for the internet."""
    port: int = Field(default=9464, ge=0, lt=65536)
    """0 picks a free port (logged at start)."""
    log_format: Literal["auto", "json", "text"] = "auto"
    """``auto``: JSON lines when stderr is not a terminal, readable lines when it is."""
