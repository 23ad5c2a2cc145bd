"""The database tables, the same on SQLite and PostgreSQL.

::

    feeds ─< entries ─< matches            what came in, and which watches fired
                 ├─< dedup_keys, entry_features  (the near-duplicate index)
                 │
                 └─< alert_items >─ digests ─< deliveries
                     (alert × entry)  (outbox)  (one row per channel: the ledger)

An ``alert_items`` row is created when a newly stored, alertable entry matches
one of the alert's watches; it is *pending* while ``digest_id`` is null. Building
a digest claims pending rows by setting ``digest_id`` and, in the same
transaction, writes the digest's payload and one ``deliveries`` row per channel.
The relay then sends each delivery and marks it ``sent`` only after the
channel accepted it, so a crash anywhere loses nothing and a resend reuses the
digest id (Message-ID, webhook-id).

Times are stored as naive UTC (the column type converts), so both backends
hold and return the same values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, naive UTC on disk."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class FeedRow(SQLModel, table=True):
    """A polled feed and what its last fetches left behind."""

    __tablename__: ClassVar[str] = "feeds"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2048, unique=True)
    name: str = Field(default="", max_length=300)
    etag: str | None = Field(default=None, max_length=1024)
    last_modified: str | None = Field(default=None, max_length=200)
    first_polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    consecutive_failures: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    active: bool = True
    """False once the feed left the config: kept (its entries point here), never polled."""
    next_poll_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    """Due time of the next poll (interval, backoff, Retry-After); None means at once."""
    lease_owner: str | None = Field(default=None, max_length=200)
    """The replica polling it now."""
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """After this, another replica may take the poll over."""
    fetch_url: str | None = Field(default=None, max_length=2048)
    """Where a permanent redirect (301/308) moved the feed; fetched instead of ``url``."""
    body_hash: str | None = Field(default=None, max_length=100)
    """SHA-256 of the last body parsed: an identical body is not parsed again."""
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """Set when the publisher answered 410 Gone: never polled again until re-enabled."""
    broken_reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """When digests last carried this feed in "feeds needing attention" (once per streak)."""
    last_note: str | None = Field(default=None, sa_type=sa.Text)
    """What the last parsed body lost to the size caps, or a header or redirect left out
    because it would not fit; shown by ``monitor status``."""


class EntryRow(SQLModel, table=True):
    """One stored feed item."""

    __tablename__: ClassVar[str] = "entries"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    feed_id: int = Field(foreign_key="feeds.id", index=True)
    guid: str | None = Field(default=None, sa_type=sa.Text)
    link: str | None = Field(default=None, sa_type=sa.Text)
    canonical_link: str | None = Field(default=None, max_length=2048, index=True)
    title: str = Field(default="", sa_type=sa.Text)
    summary: str = Field(default="", sa_type=sa.Text)
    content: str = Field(default="", sa_type=sa.Text)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    language: str | None = Field(default=None, max_length=35)
    author: str | None = Field(default=None, max_length=500)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    alertable: bool = True
    duplicate_of: int | None = Field(default=None, foreign_key="entries.id", index=True)
    """The stored article (or seed) this entry duplicates; None for an original."""
    dup_signal: str | None = Field(default=None, max_length=30)
    """How it was recognised: canonical_url, guid, text_hash or near_duplicate."""
    dup_score: float | None = None
    dup_reason: str | None = Field(default=None, sa_type=sa.Text)
    """The decision in words: which article, which signal, the scores."""
    dup_outcome: str | None = Field(default=None, max_length=20)
    """``joined`` (a copy of an undelivered story: shown as "also") or ``suppressed``."""
    story_id: int | None = Field(default=None, index=True)
    """The first entry of the story this one belongs to (itself for an original)."""
    fingerprint: str | None = Field(default=None, sa_type=sa.Text)
    """Dedup features as JSON, for articles known only by fingerprint (shipped seeds)."""
    source: str | None = Field(default=None, max_length=300)
    """The publisher of a known (seed) article; feed entries take their feed's name."""


class FeedNoticeRow(SQLModel, table=True):
    """A failing feed already reported in one alert's digest (forgotten when it recovers)."""

    __tablename__: ClassVar[str] = "feed_notices"
    __table_args__ = (sa.UniqueConstraint("alert", "feed_id", name="uq_feed_notices_alert_feed"),)

    id: int | None = Field(default=None, primary_key=True)
    alert: str = Field(max_length=100)
    feed_id: int = Field(foreign_key="feeds.id", index=True)
    reported_at: datetime = Field(sa_type=UTCDateTime)


class DedupKeyRow(SQLModel, table=True):
    """The near-duplicate index: lookup key -> entry (see monitor.dedup.index)."""

    __tablename__: ClassVar[str] = "dedup_keys"

    key: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    entry_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("entries.id"),
            primary_key=True,
            autoincrement=False,
            index=True,  # retention deletes an entry's keys with it
        )
    )


class EntryFeaturesRow(SQLModel, table=True):
    """An entry's comparison features, packed (:mod:`monitor.dedup.packed`): read instead
    of fingerprinting its text again when it is a duplicate lookup's candidate. Entries
    stored before this table, and entries no lookup can find, have none."""

    __tablename__: ClassVar[str] = "entry_features"

    entry_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("entries.id"), primary_key=True, autoincrement=False
        )
    )
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))


class MatchRow(SQLModel, table=True):
    """A watch that fired on an entry, with the spans that explain it."""

    __tablename__: ClassVar[str] = "matches"
    __table_args__ = (sa.UniqueConstraint("entry_id", "watch", name="uq_matches_entry_watch"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="entries.id", index=True)
    watch: str = Field(max_length=100, index=True)
    score: float = 1.0
    spans: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    matched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DigestRow(SQLModel, table=True):
    """A built digest: the outbox payload, independent of channel."""

    __tablename__: ClassVar[str] = "digests"

    id: str = Field(primary_key=True, max_length=64)
    alert: str = Field(max_length=100, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    item_count: int = 0
    payload: str = Field(sa_type=sa.Text)


class AlertItemRow(SQLModel, table=True):
    """An entry waiting for (or claimed by) one alert's digest."""

    __tablename__: ClassVar[str] = "alert_items"
    __table_args__ = (sa.UniqueConstraint("alert", "entry_id", name="uq_alert_items_alert_entry"),)

    id: int | None = Field(default=None, primary_key=True)
    alert: str = Field(max_length=100, index=True)
    entry_id: int = Field(foreign_key="entries.id", index=True)
    digest_id: str | None = Field(default=None, foreign_key="digests.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DeliveryRow(SQLModel, table=True):
    """The ledger: one digest to one target of one channel, and how sending it went.

    Email has one row per recipient, so a recipient refused (or deferred) by
    the server never causes a resend to the others; a webhook has one row.
    """

    __tablename__: ClassVar[str] = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("digest_id", "channel", "target", name="uq_deliveries_digest_target"),
    )

    id: int | None = Field(default=None, primary_key=True)
    digest_id: str = Field(foreign_key="digests.id", index=True, max_length=64)
    alert: str = Field(max_length=100, index=True)
    channel: str = Field(max_length=20)
    target: str = Field(default="", max_length=2048)
    """The recipient address (email) or URL (webhook) this row delivers to."""
    status: str = Field(default="pending", max_length=10, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    """Not before this time (backoff, Retry-After); None means at once."""
    lease_owner: str | None = Field(default=None, max_length=200)
    """The replica sending it now; others leave it alone until ``lease_until``."""
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_token: str | None = Field(default=None, max_length=40)
    """Drawn afresh by each claim: a mark after the send applies only under the same claim."""
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AlertScheduleRow(SQLModel, table=True):
    """When an alert's next digest is due: replicas advance it by compare-and-set."""

    __tablename__: ClassVar[str] = "alert_schedules"

    alert: str = Field(primary_key=True, max_length=100)
    schedule: str = Field(max_length=200)
    """The cron and timezone ``next_run_at`` was computed from; a config change resets it."""
    next_run_at: datetime = Field(sa_type=UTCDateTime)
    last_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_run_by: str | None = Field(default=None, max_length=200)


class ChannelStateRow(SQLModel, table=True):
    """A channel target that asked never to be called again (webhook 410 Gone)."""

    __tablename__: ClassVar[str] = "channel_states"
    __table_args__ = (
        sa.UniqueConstraint("alert", "channel", "target", name="uq_channel_states_target"),
    )

    id: int | None = Field(default=None, primary_key=True)
    alert: str = Field(max_length=100)
    channel: str = Field(max_length=20)
    target: str = Field(max_length=2048)
    disabled_at: datetime = Field(sa_type=UTCDateTime)
    reason: str = Field(sa_type=sa.Text)


class JobLeaseRow(SQLModel, table=True):
    """A periodic job that one replica at a time runs (pruning old rows), leased by name."""

    __tablename__: ClassVar[str] = "job_leases"

    name: str = Field(primary_key=True, max_length=100)
    owner: str | None = Field(default=None, max_length=200)
    token: str | None = Field(default=None, max_length=40)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


PENDING, SENT, FAILED = "pending", "sent", "failed"
SPLIT = "split"
"""Too big for one message: its digest went into parts, each a delivery row of its own."""
