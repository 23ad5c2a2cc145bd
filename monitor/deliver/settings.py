"""The config's ``delivery:`` section: how queued deliveries are retried and how big
one message may be.

Declared here, next to the code that reads it (:mod:`.policy`, :mod:`.relay`,
:mod:`.webhook`); :mod:`monitor.config` places it under ``delivery:``.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from monitor.fetch.settings import check_allow_list
from monitor.fields import Duration, SettingsModel

WEBHOOK_BYTES = {"standard": 1_000_000, "slack": 200_000, "discord": 100_000, "teams": 28_000}


class DeliverySettings(SettingsModel):
    """How queued deliveries are retried."""

    retry_initial: Duration = timedelta(seconds=30)
    """Wait before the first retry; doubles with each failure."""
    retry_max_interval: Duration = timedelta(hours=1)
    """Longest wait between two tries."""
    retry_jitter: float = Field(default=0.3, ge=0, le=1)
    """Share of each wait that is random, so failed deliveries do not return in step."""
    give_up_after: Duration = timedelta(hours=24)
    """A delivery still failing this long after it was queued fails for good."""
    relay_interval: Duration = timedelta(seconds=30)
    """How often the daemon looks for deliveries due for a (re)try."""
    digest_title_chars: int = Field(default=1_000, ge=20)
    """Longest title a digest shows (clipped with an ellipsis): every channel gets bounded
    items, so a message stays far below what mail servers (often 10 MB) and receivers take."""
    allow_private: tuple[str, ...] = ()
    """Internal webhook receivers let through the guard (same forms as
    ``fetch.allow_private``); any other private, loopback or link-local target is refused."""
    max_response_bytes: int = Field(default=65_536, gt=0)
    """Most of a webhook receiver's answer read: the status is what counts; the start of
    a refusal is kept in the error, and an endless answer is not held in memory."""
    max_message_bytes: int = Field(default=5_000_000, ge=10_000)
    """Largest email sent as one message; a bigger digest goes out in parts ("part 1 of
    2"). Mail servers often refuse 10 MB; a server announcing a smaller SIZE is heeded too."""
    max_webhook_bytes: dict[str, int] = Field(default_factory=lambda: dict(WEBHOOK_BYTES))
    """Largest webhook body per format (formats not named keep their default); a bigger
    digest goes out in parts. 1 MB is a common web server's default body limit; Teams
    takes 28 KB."""

    @field_validator("allow_private")
    @classmethod
    def _allow_private(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_allow_list(value)

    @field_validator("max_webhook_bytes")
    @classmethod
    def _max_webhook_bytes(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(WEBHOOK_BYTES))
        if unknown:
            raise ValueError(
                f"unknown webhook format {unknown[0]!r}; known: {', '.join(WEBHOOK_BYTES)}"
            )
        small = sorted(name for name, size in value.items() if size < 1_000)
        if small:
            raise ValueError(f"{small[0]}: at least 1000 bytes")
        return {**WEBHOOK_BYTES, **value}
