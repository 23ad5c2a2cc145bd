"""Which strings of an :class:`~monitor.types.Entry` a query can search.

Two vocabularies meet here:

* *fields* are real strings on the entry, and the names :class:`~monitor.types.Span`
  uses: ``title``, ``summary``, ``content``, ``source`` (``feed_name``), ``url`` and
  ``lang`` (``language``);
* *scopes* are what a query names before a colon (``title:``, ``summary:``,
  ``source:``, ``url:``, ``lang:``) plus :data:`ANY`, the scope of a term with no
  field prefix. A scope covers one or more fields.

``summary:`` covers the body: summary and content, following
:attr:`Entry.text <monitor.types.Entry.text>`: when the content already contains
the summary only the content is searched, so one sentence never matches twice.
``url:`` searches ``canonical_link`` when there is one and ``link`` otherwise, so
that span offsets always point into one known string (:func:`field_text` is the
single place that knows which).

A span may also name ``article``: a hit in the text of an entry's article page, which a
``full_text`` feed's entry holds as its content (:mod:`monitor.fulltext`); queries never
name it, it only tells where a match came from.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Final

from monitor.types import Entry

ANY: Final = "any"
"""The scope of a term without a field prefix: title and body."""

QUERY_SCOPES: Final = ("title", "summary", "source", "url", "lang")
"""Field prefixes a query may use, in the order error messages list them."""

FIELD_ORDER: Final = ("title", "summary", "content", "source", "url", "lang")
"""Every field name a span can carry, in the order spans are sorted."""

BODY_FIELDS: Final = ("summary", "content")
"""Every field the body can consist of."""

FIELD_RANK: Final = {name: rank for rank, name in enumerate(FIELD_ORDER)}


_TEXTS: Final[dict[str, Callable[[Entry], str]]] = {
    "title": attrgetter("title"),
    "summary": attrgetter("summary"),
    "content": attrgetter("content"),
    # A full_text feed's article page text, held as the content.
    "article": attrgetter("content"),
    "source": attrgetter("feed_name"),
    "url": lambda entry: entry.canonical_link or entry.link or "",
    "lang": lambda entry: entry.language or "",
}
"""How to read each field off an entry: one dict lookup and a C getter for the common
fields, instead of comparing the name with each in turn (this runs for every field
of every entry matched)."""


def field_text(entry: Entry, field: str) -> str:
    """The original string of ``field`` on ``entry`` (empty when absent)."""
    text = _TEXTS.get(field)
    if text is None:
        raise ValueError(f"unknown field {field!r}")
    return text(entry)


def body_fields(entry: Entry) -> tuple[str, ...]:
    """The fields that make up the body, mirroring :attr:`Entry.text`."""
    if entry.content and entry.summary and entry.summary in entry.content:
        return ("content",)
    return BODY_FIELDS


def scope_fields(scope: str, body: tuple[str, ...]) -> tuple[str, ...]:
    """The fields a scope covers, given the entry's body fields."""
    if scope == ANY:
        return ("title", *body)
    if scope == "summary":
        return body
    return (scope,)
