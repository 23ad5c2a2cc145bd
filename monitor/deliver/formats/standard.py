"""``standard``: monitor's own JSON body, for programs.

The shape is documented by ``standard.schema.json`` beside this module (JSON
Schema 2020-12; the tests validate every body they produce against it) and in
the README. It is data, not presentation: strings are exactly what the feed
gave (the receiver escapes them for wherever it shows them), times are UTC
ISO 8601, and every item says why it matched (watch, score, terms, spans).

Additions keep old receivers working: fields are only ever added. Added since
the first version: ``timezone`` (the alert's, for showing times),
``omitted`` and ``sections`` (stories left out by ``max_items``, in total and
per watch), and per item ``title_parts`` and ``snippet``: highlighted text as
``{"text", "highlight"}`` parts, ready to render without re-doing the span
arithmetic. ``spans`` index the entry's stored fields; ``title`` and
``summary`` here may be shortened, so use the parts for display.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from monitor.redact import redact_urls
from monitor.types import Digest, DigestItem, Match

TYPE = "monitor.digest"
SCHEMA_FILE = "standard.schema.json"


def body(digest: Digest, timezone: str = "UTC") -> dict[str, Any]:
    """The ``standard`` JSON body of ``digest``; ``timezone`` is passed on for display."""
    return {
        "type": TYPE,
        "id": digest.id,
        "alert": digest.alert,
        "created_at": digest.created_at.isoformat(),
        "timezone": timezone,
        "item_count": digest.item_count,
        "omitted": digest.omitted,
        "part": digest.part or None,
        "sections": [
            {"watch": s.watch, "item_count": len(s.items), "omitted": s.omitted}
            for s in digest.sections
        ],
        "items": [
            _item(item, section.watch) for section in digest.sections for item in section.items
        ],
        "attention": [
            {
                "feed": notice.name,
                "url": redact_urls(notice.url),  # a feed URL may carry a token
                "failures": notice.failures,
                "last_error": redact_urls(notice.last_error) if notice.last_error else None,
                "disabled": notice.disabled,
            }
            for notice in digest.attention
        ],
    }


def _parts(parts: tuple[tuple[str, bool], ...]) -> list[dict[str, Any]]:
    return [{"text": text, "highlight": hit} for text, hit in parts]


def _item(item: DigestItem, watch: str) -> dict[str, Any]:
    return {
        "id": item.entry_id,
        "watch": watch,
        "title": item.title,
        "title_parts": _parts(item.title_parts or ((item.title, False),)),
        "url": item.link,
        "source": item.source,
        "published": item.published.isoformat() if item.published else None,
        "summary": item.summary,
        "snippet": (
            {"field": item.snippet_field, "parts": _parts(item.snippet)} if item.snippet else None
        ),
        "also": list(item.also),
        "matches": [_match(match) for match in item.matches],
    }


def _match(match: Match) -> dict[str, Any]:
    return {
        "watch": match.watch,
        "score": match.score,
        "terms": list(match.terms),
        "spans": [
            {"field": s.field, "start": s.start, "end": s.end, "term": s.term} for s in match.spans
        ],
    }


@cache
def _schema_text() -> str:
    return (
        resources.files("monitor.deliver.formats").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    )


def schema() -> dict[str, Any]:
    """The JSON Schema of the body (a fresh copy each call)."""
    loaded: dict[str, Any] = json.loads(_schema_text())
    return loaded
