"""Render a digest as email parts and a subject line.

Jinja2 with autoescaping on for HTML: every string that came from a feed is
escaped where it is written, so a title containing ``<script>`` arrives as
text. The HTML uses inline styles and a table layout because mail clients
ignore style sheets; it loads nothing remote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import jinja2

from monitor.types import Digest

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("monitor.digest", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """A digest ready for a channel."""

    subject: str
    """One line, no CR/LF: safe as an email header."""
    text: str
    """The plain-text part."""
    html: str
    """The HTML part (a whole document)."""


def subject_line(digest: Digest, prefix: str = "") -> str:
    count = digest.item_count
    noun = "new item" if count == 1 else "new items"
    line = f"{prefix} {digest.alert}: {count} {noun}".strip()
    return " ".join(line.split())  # no CR/LF or tabs can reach a header


def render_digest(
    digest: Digest, timezone: str = "UTC", subject_prefix: str = ""
) -> RenderedDigest:
    zone = ZoneInfo(timezone)

    def local(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if value else "date unknown"

    context = {"digest": digest, "local": local, "created": local(digest.created_at)}
    return RenderedDigest(
        subject=subject_line(digest, subject_prefix),
        text=_env.get_template("digest.txt").render(context),
        html=_env.get_template("digest.html").render(context),
    )
