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

from monitor.types import Entry

ANY = "any"
"""The scope of a term without a field prefix: title and body."""

QUERY_SCOPES = ("title", "summary", "source", "url", "lang")
"""Field prefixes a query may use, in the order error messages list them."""

FIELD_ORDER = ("title", "summary", "content", "source", "url", "lang")
"""Every field name a span can carry, in the order spans are sorted."""

BODY_FIELDS = ("summary", "content")
"""Every field the body can consist of."""

FIELD_RANK = {name: rank for rank, name in enumerate(FIELD_ORDER)}


def field_text(entry: Entry, field: str) -> str:
    """The original string of ``field`` on ``entry`` (empty when absent)."""
    if field == "title":
        return entry.title
    if field == "summary":
        return entry.summary
    if field == "content":
        return entry.content
    if field == "article":  # a full_text feed's article page text, held as the content
        return entry.content
    if field == "source":
        return entry.feed_name
    if field == "url":
        return entry.canonical_link or entry.link or ""
    if field == "lang":
        return entry.language or ""
    raise ValueError(f"unknown field {field!r}")


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
