"""Webhook body formats: one module per format, each a pure ``body(digest, timezone)``.

A format turns a :class:`~monitor.types.Digest` into the JSON object one kind
of receiver expects; the webhook channel serializes, signs and POSTs it, the
same way for every format. ``timezone`` is the alert's IANA zone, for the
times shown to people.

* ``standard`` - monitor's own JSON, for programs; its shape is pinned by
  ``standard.schema.json``.
* ``slack`` - a Block Kit message (Slack incoming webhook).
* ``discord`` - an execute-webhook message with embeds.
* ``teams`` - an Adaptive Card message (Teams workflow or incoming webhook).

The chat formats read :func:`monitor.digest.view.digest_view`, the same
display values the email uses, and each escapes for its own syntax and cuts
to its platform's limits (:mod:`monitor.deliver.formats.fit`), summarising
what does not fit as "…and N more". Adding a format: a module with ``body``
and a line in :data:`FORMATS` (and the name in the config's ``format``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monitor.deliver.formats import discord, slack, standard, teams
from monitor.types import Digest

Format = Callable[[Digest, str], dict[str, Any]]
"""``body(digest, timezone) -> JSON object``."""

FORMATS: dict[str, Format] = {
    "standard": standard.body,
    "slack": slack.body,
    "discord": discord.body,
    "teams": teams.body,
}


def render_body(name: str, digest: Digest, timezone: str = "UTC") -> dict[str, Any]:
    """The body of ``digest`` in format ``name``; KeyError for an unknown name."""
    return FORMATS[name](digest, timezone)
