"""The one exception tree of monitor.

Every error the project raises on purpose derives from :class:`MonitorError`.
Driver errors (httpx, smtplib, SQLAlchemy, feedparser, lark) are caught at the
boundary that calls the driver and re-raised as one of these, with the cause
chained, so callers never need to know which library sits underneath::

    MonitorError
    ├── ConfigError                 bad YAML, bad value, missing secret (names key path + line)
    ├── UsageError                  the command line names what is not there (a file, an alert)
    ├── RuleError                   a watch query cannot be compiled
    │   └── RuleSyntaxError         ...because of its syntax (names the position)
    ├── FeedError                   one feed could not be brought in (names the feed URL)
    │   ├── FetchError
    │   │   ├── TransientFetchError     timeouts, 5xx, 429, connection resets: try later
    │   │   │   ├── FetchTimeout            no complete answer in time
    │   │   │   ├── ConnectFailed           no connection to the server
    │   │   │   └── TransientHttpError      429, 5xx
    │   │   └── PermanentFetchError     404, 410, refused scheme, body over the cap
    │   │       ├── AddressBlocked          the SSRF guard refused the address
    │   │       ├── RedirectRefused         too many hops, a bad or non-HTTP target
    │   │       ├── FeedTooLarge            body over fetch.max_body_bytes
    │   │       └── PermanentHttpError      4xx, 410, an unexpected status
    │   └── ParseError              the bytes are not a feed we can read
    ├── StoreError                  the database refused or could not be reached
    ├── SeedError                   a baseline article cannot be imported
    └── DeliveryError               a digest could not be sent on one channel
        ├── TransientDeliveryError  SMTP 4xx, webhook 429/5xx/timeout: retried with backoff
        └── PermanentDeliveryError  SMTP 5xx, webhook 4xx: not retried

"Transient" means the same request may succeed later unchanged; "permanent"
means it will not, and retrying only wastes the publisher's or receiver's time.

Every error has a ``kind``: a short label from a small fixed set, what metrics
count failures by (``monitor_fetch_errors_total{kind=...}``). It comes with the
class (or, for an HTTP status, with the status), never from reading the message.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Root of every error monitor raises on purpose."""

    kind: str = "other"
    """What went wrong, as a metric label: a few fixed words, unlike the message."""


class ConfigError(MonitorError):
    """The configuration is invalid.

    ``problems`` holds one human-readable line per problem, each naming the key
    path and, where known, the YAML line.
    """

    kind = "config"

    def __init__(self, problems: list[str] | str, source: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        head = f"invalid configuration in {source}" if source else "invalid configuration"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class UsageError(MonitorError):
    """A command-line argument names something that cannot be used: a file that cannot
    be read, a level that does not exist. The CLI exits 2 (bad usage) on it."""

    kind = "usage"


class RuleError(MonitorError):
    """A watch query could not be compiled."""

    kind = "rule"


class RuleSyntaxError(RuleError):
    """A watch query is not well-formed.

    ``position`` is the 0-based character offset in the query where the
    problem was found and ``expected`` what would have been valid there.
    """

    def __init__(self, message: str, query: str, position: int, expected: str = "") -> None:
        self.query = query
        self.position = position
        self.expected = expected
        pointer = f"\n    {query}\n    {' ' * position}^"
        super().__init__(f"{message} at position {position}{pointer}")


class FeedError(MonitorError):
    """One feed could not be brought in; ``url`` names it."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class FetchError(FeedError):
    """The feed could not be downloaded."""


class TransientFetchError(FetchError):
    """A download failure worth retrying later (timeout, 5xx, 429, reset).

    ``retry_after`` is the server's requested delay in seconds, if it gave one.
    """

    def __init__(self, url: str, reason: str, retry_after: float | None = None) -> None:
        super().__init__(url, reason)
        self.retry_after = retry_after


class FetchTimeout(TransientFetchError):
    """No complete answer within ``fetch.timeout`` (or a connect, read or pool timeout)."""

    kind = "timeout"


class ConnectFailed(TransientFetchError):
    """The server could not be reached: no address, refused, unreachable."""

    kind = "connect"


def http_kind(status: int) -> str:
    """The label of an HTTP status: 429 and 410 by themselves (they change what happens
    next), the rest by class (``http_4xx``, ``http_5xx``)."""
    return f"http_{status}" if status in (429, 410) else f"http_{status // 100}xx"


class TransientHttpError(TransientFetchError):
    """The server answered 429 or 5xx; ``status`` is the code."""

    def __init__(
        self, url: str, reason: str, status: int, retry_after: float | None = None
    ) -> None:
        super().__init__(url, reason, retry_after)
        self.status = status
        self.kind = http_kind(status)


class PermanentFetchError(FetchError):
    """A download failure that will not fix itself (404, 410, over the size cap).

    ``gone`` is true for 410 Gone: the publisher says the feed will not return.
    """

    def __init__(self, url: str, reason: str, gone: bool = False) -> None:
        super().__init__(url, reason)
        self.gone = gone


class AddressBlocked(PermanentFetchError):
    """The SSRF guard refused the address the feed (or a redirect) connected to."""

    kind = "blocked"


class RedirectRefused(PermanentFetchError):
    """A redirect was not followed: too many hops, a bad target, a scheme not HTTP(S)."""

    kind = "redirect"


class FeedTooLarge(PermanentFetchError):
    """The body is larger than ``fetch.max_body_bytes`` (declared, or once decoded)."""

    kind = "too_large"


class PermanentHttpError(PermanentFetchError):
    """The server answered 4xx (410 Gone among them) or an unexpected status; ``status``
    is the code."""

    def __init__(self, url: str, reason: str, status: int, gone: bool = False) -> None:
        super().__init__(url, reason, gone)
        self.status = status
        self.kind = http_kind(status)


class ParseError(FeedError):
    """The downloaded bytes are not a feed we can read."""

    kind = "parse"


class StoreError(MonitorError):
    """The database could not be reached or refused an operation."""

    kind = "store"


class SeedError(MonitorError):
    """A baseline article could not be imported; names the path."""

    kind = "seed"


class DeliveryError(MonitorError):
    """A digest could not be delivered on one channel."""

    kind = "delivery"

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel}: {reason}")


class TransientDeliveryError(DeliveryError):
    """Delivery failed in a way worth retrying (SMTP 4xx, HTTP 429/5xx, timeout)."""

    def __init__(self, channel: str, reason: str, retry_after: float | None = None) -> None:
        super().__init__(channel, reason)
        self.retry_after = retry_after


class TooLargeError(TransientDeliveryError):
    """The receiver refused the message for its size (SMTP 552 or a SIZE limit, HTTP 413).

    Not a permanent failure: the relay splits the digest into smaller parts; a
    single story it cannot split stays pending and is retried. ``size`` is what was
    sent (bytes), ``limit`` the receiver's stated limit when it gave one."""

    kind = "too_large"

    def __init__(self, channel: str, reason: str, size: int, limit: int | None = None) -> None:
        super().__init__(channel, reason)
        self.size = size
        self.limit = limit


class PermanentDeliveryError(DeliveryError):
    """Delivery failed for good (SMTP 5xx, HTTP 4xx other than 429).

    ``disable`` is true when the receiver asked never to be called again (410).
    """

    def __init__(self, channel: str, reason: str, disable: bool = False) -> None:
        super().__init__(channel, reason)
        self.disable = disable
