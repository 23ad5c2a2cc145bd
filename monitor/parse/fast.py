"""A fast path for well-formed feeds: lxml instead of feedparser, same entries.

feedparser is robust but slow (a SAX pass in Python, then an HTML sanitizer
and a URI resolver run over every HTML field). Most real feeds are
well-formed UTF-8 RSS 2.0 or Atom 1.0; for those this module builds the very
dictionaries feedparser would build (the keys :func:`monitor.parse.feed.entry_from_raw`
reads), from an lxml tree, and the same code turns them into entries. Where
it cannot be sure to agree it returns ``None`` and the caller runs
feedparser. "Sure" is kept honest by a differential test over 200 real
feeds that compares both paths entry by entry, every field.

What it reproduces of feedparser (6.x), deliberately, quirks included:

* element names: the namespace mapped to feedparser's standard prefix, names
  lower-cased (``pubDate`` is ``pubdate``), ``atom:link`` inside RSS is a link;
* per field, feedparser's ``pop``: strip, resolve link / permalink guid
  against the feed URL, guess "is this plain text HTML?" for RSS
  (feedparser's own ``looks_like_html``), undo UTF-8 read as Latin-1, map
  C1 controls to their windows-1252 characters;
* which element wins: a ``description`` after another summary becomes
  content, content copies to the summary only when none is set, a permalink
  guid becomes the link only when no link came before, the last date of a kind
  wins, an Atom author reads ``name (email)``;
* dates through feedparser's own date parser; language from ``xml:lang``
  on the title or its ancestors, else the feed's.

HTML fields are run through feedparser's sanitizer only when they hold
something where it could change the *text* (a tag outside a harmless set,
a comment, a stray ``<`` or an unknown entity): the text of a fragment made
only of well-formed harmless tags, known entities and characters is the
same with or without it, and skipping it is most of the speed-up.

It gives up (``None``) on: a DOCTYPE (entities: feedparser's handling differs,
and expansion is an attack surface), anything not strictly well-formed, an
encoding other than UTF-8, a non-XML Content-Type, ``xml:base``, XHTML or
base64 content, any element feedparser treats specially that it does not
reproduce (``media:group``, ``itunes:summary``...), two titles or two guids in
one entry, nested entries, and a document without entries.

Entities are never expanded and nothing is fetched: ``resolve_entities``,
``load_dtd`` and network access are off, and a DTD sends the document to
feedparser, which does not expand external entities either.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import html.entities
import re
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

from lxml import etree  # type: ignore[import-untyped,unused-ignore]

try:  # feedparser's internals, used so that the fast path cannot drift from it
    from feedparser.datetimes import _parse_date
    from feedparser.html import _cp1252
    from feedparser.mixin import _FeedParserMixin
    from feedparser.sanitizer import _HTMLSanitizer, _sanitize_html
    from feedparser.urls import _urljoin, make_safe_absolute_uri, resolve_relative_uris
except ImportError:  # pragma: no cover - a feedparser without them: no fast path
    _FeedParserMixin = None

from monitor.parse.html import _BLOCK_TAGS, _SKIP_TAGS
from monitor.parse.limits import newest, struct_seconds

ATOM_NS = "http://www.w3.org/2005/Atom"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RSS10_NS = "http://purl.org/rss/1.0/"
XML_NS = "http://www.w3.org/XML/1998/namespace"
_RSS_NAMESPACES = frozenset({RSS10_NS, "http://my.netscape.com/rdf/simple/0.9/"})

_XML_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
    }
)
_HTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})
_XML_DECL = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_BASE_ATTRIBUTE = re.compile(rb"\bbase\s*=")  # may be xml:base or base: then fold them

# Which element plays which part inside an entry (feedparser handler names).
_TITLE = frozenset({"title", "dc_title"})
_LINK = frozenset({"link"})
_GUID = frozenset({"guid", "id"})
_SUMMARY = frozenset({"description", "summary", "dc_description"})
_CONTENT = {"content_encoded": "text/html", "fullitem": "text/html", "content": "text/plain"}
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms_issued"})
_UPDATED = frozenset({"updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"})
_AUTHOR = frozenset({"author", "managingeditor", "dc_creator", "dc_author", "itunes_author"})
_AUTHOR_PARTS = frozenset({"name", "email", "uri", "url", "homepage"})
# Elements feedparser files as the entry's tags through its ``_start/_end_category``;
# the scheme each one defaults to (it decides, as in feedparser, which tag a text fills).
_CATEGORY = {
    "category": None,
    "keywords": None,
    "dc_subject": None,
    "media_category": "http://search.yahoo.com/mrss/category_schema",
}
_TAGS = frozenset({*_CATEGORY, "media_keywords"})
"""Elements that make tags. iTunes categories and keywords, with rules of their own, are
left to feedparser, and so is a tag element anywhere but directly in the entry."""
# Handled by feedparser, but touching nothing an Entry is built from.
_HARMLESS = frozenset(
    {
        "enclosure",
        "media_content",
        "media_thumbnail",
        "media_rating",
        "media_credit",
        "media_license",
        "media_restriction",
        "media_player",
        "created",
        "dcterms_created",
        "expirationdate",
        "rights",
        "copyright",
        "dc_rights",
        "dc_publisher",
        "language",
        "dc_language",
        "georss_point",
        "itunes_image",
        "itunes_link",
    }
)


# An absolute http(s) link that feedparser's ``_urljoin`` would give back unchanged whatever
# the base: its slash-fixing regex has nothing to fix (no third slash), and ``urljoin``
# returns such a link either as it is or as ``urlunparse(urlparse(link))``, which rebuilds
# it exactly when no part comes out empty or trimmed. Excluded, so left to ``_urljoin``:
# an empty query or fragment (``?#``, a trailing ``#``), path parameters (``;``), brackets
# (an IPv6 host, which urlsplit checks), the tab and newlines urlsplit deletes, non-ASCII
# text (a host urlsplit checks), and an empty host.
_PLAIN_LINK = re.compile(
    r"https?://[^/?#;\[\]\t\r\n][^?#;\[\]\t\r\n]*"
    r"(?:\?[^#;\[\]\t\r\n][^#;\[\]\t\r\n]*)?(?:#[^;\[\]\t\r\n]+)?"
)
# What feedparser turns back from an entity reference in a link's text ("&amp;" first).
_ENTITY_REF = re.compile("&([A-Za-z0-9_]+);")


_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
# The date most feeds write (RFC 822 with a numeric or universal zone), which
# feedparser's handlers reach only after the W3C one has failed on it. ASCII digits
# only (re.ASCII): other digits are left to feedparser, and the test to compare.
_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d\d?) "
    rf"({'|'.join(_MONTHS)}) (\d{{4}}) (\d\d):(\d\d):(\d\d) "
    r"(?:GMT|UTC?|Z|([+-])(\d\d)(\d\d))",
    re.ASCII,
)


def _date(text: str) -> time.struct_time | None:
    """feedparser's ``_parse_date(text)``, worked out directly for a plain RFC 822 date.

    Such a date fails the W3C handler feedparser tries first (no four-character first
    word that is a number), and its RFC 822 handler reads it as done here: day, month,
    four-digit year, time, and a zone of GMT, UT, UTC, Z (none) or ``+hhmm``/``-hhmm``.
    Anything else, or a date that does not exist, goes through feedparser's handlers,
    every time: they fill a missing year or day from today's date.
    """
    return _plain_date(text) or _parse_date(text)  # a struct_time is never false


# Kept: a feed's body, each time it changes, holds mostly the items (and dates) it held
# before; a plain date depends on its text alone, and a struct_time cannot be changed.
@functools.lru_cache(maxsize=4096)
def _plain_date(text: str) -> time.struct_time | None:
    """The plain RFC 822 date ``text`` writes (:data:`_RFC822`), or None when it is not
    one or no such date exists."""
    match = _RFC822.fullmatch(text)
    if match is None:
        return None
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    try:
        stamp = datetime.datetime(
            int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second)
        )
        if sign is not None:
            offset = datetime.timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
            stamp = stamp + offset if sign == "-" else stamp - offset
        return stamp.utctimetuple()
    except (OverflowError, ValueError):
        return None


@functools.lru_cache(maxsize=64)
def _base_parses(base: str) -> bool:
    """Whether ``urljoin`` can read ``base``: where it cannot, ``_urljoin`` gives ''."""
    try:
        urllib.parse.urlsplit(base)
    except ValueError:
        return False
    return True


def _join(base: str, uri: str) -> str:
    """feedparser's ``_urljoin(base, uri)``, without its cost for the plain absolute links
    nearly every item has (5 to 8 % of a worker's time on a farm of wire stories)."""
    if uri.isascii() and _PLAIN_LINK.fullmatch(uri) and (not base or _base_parses(base)):
        return uri
    return str(_urljoin(base, uri))


class _NotSure(Exception):
    """The fast path cannot promise feedparser's result for this document."""


def _handled() -> frozenset[str]:
    if _FeedParserMixin is None:  # pragma: no cover
        return frozenset()
    return frozenset(
        n.removeprefix("_start_") for n in dir(_FeedParserMixin) if n.startswith("_start_")
    )


_HANDLED = _handled()
_NAMESPACES: dict[str, str] = (
    {k.lower(): v for k, v in _FeedParserMixin.namespaces.items()} if _FeedParserMixin else {}
)
# Tags whose removal by the sanitizer cannot change the text html_to_text gives:
# the ones it keeps, and the inline ones it drops but whose text it keeps. Not
# the ones either side treats as "drop the content" or as a line break.
_SANITIZER_KEEPS: frozenset[str] = (
    frozenset(_HTMLSanitizer.acceptable_elements) if _FeedParserMixin else frozenset()
)
_NEVER_SAFE = _SKIP_TAGS | _BLOCK_TAGS | {"svg", "math", "applet", "script", "style", "title"}
_TAG = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9]*)"
    r"((?:\s+[A-Za-z_][-A-Za-z0-9_.]*(?:\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s\"'=<>`]+))?)*)"
    r"\s*/?>"
)
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")
_C1 = re.compile("[\x80-\x9f]")
# Entity names the sanitizer writes back as they came (others become "&amp;name").
_KEPT_ENTITIES = frozenset(html.entities.entitydefs) | {"apos"}
_COMMENT = re.compile(r"<!--(?!-?>)(?:(?!--)[^<])*-->")
# script and style with no markup inside: both sides drop them whole.
_SCRIPT = re.compile(r"<(script|style)\b[^<>]*>[^<]*</\1\s*>", re.IGNORECASE)
_EMPTY_IFRAME = re.compile(r"<iframe\b[^<>]*></iframe\s*>", re.IGNORECASE)
_ENTITY = re.compile(
    r"&(?:#[0-9]{1,7};|#[xX][0-9A-Fa-f]{1,6};|([A-Za-z][A-Za-z0-9]*);|(?=[^A-Za-z#])|$)"
)


def _safe_tag(name: str) -> bool:
    name = name.lower()
    if name in _SANITIZER_KEEPS:
        return name not in _SKIP_TAGS
    return name not in _NEVER_SAFE


def safe_parser() -> etree.XMLParser:
    """An lxml parser that loads nothing from outside the document and expands no entity
    (no DTD, no network, no huge trees), and fails rather than guesses."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
        recover=False,
    )


def parse_raw(
    content: bytes, url: str, content_type: str | None, max_entries: int | None = None
) -> dict[str, Any] | None:
    """feedparser's result for ``content`` (the keys monitor reads), or None when unsure.

    ``{"feed": {"title", "title_detail", "language"}, "entries": [...], "version": ...,
    "total_entries": N}``. With ``max_entries``, only the newest that many entries are
    read (most of the cost of a huge document is reading its entries).
    """
    if _FeedParserMixin is None or not _acceptable_bytes(content, content_type):
        return None
    try:
        root = etree.fromstring(content, safe_parser())
        if root.getroottree().docinfo.internalDTD is not None:
            return None
        reader = _Reader(root, url, rebased=_BASE_ATTRIBUTE.search(content) is not None)
        return reader.read(max_entries)
    except (etree.XMLSyntaxError, _NotSure, ValueError):
        return None


def _acceptable_bytes(content: bytes, content_type: str | None) -> bool:
    head = content[:1024]
    if not head or head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00", b"\x4c\x6f\xa7\x94")):
        return False  # UTF-16/32 or EBCDIC: feedparser's detection decides
    found = _XML_DECL.match(head)
    if found and found.group(1).lower() not in (b"utf-8", b"utf8"):
        return False
    if _DOCTYPE.search(content, 0, 65536):
        return False
    if content_type:
        mime, _, params = content_type.partition(";")
        if mime.strip().lower() not in _XML_TYPES:
            return False
        charset = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.IGNORECASE)
        if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
            return False
    return True


def _name(element: Any) -> str:
    """feedparser's name for an element: ``title``, ``dc_creator``, ``content_encoded``."""
    tag = element.tag
    if not isinstance(tag, str):
        raise _NotSure("entity reference or other non-element node")
    if tag[0] != "{":
        return tag.lower()
    namespace, local = tag[1:].split("}", 1)
    lowered = namespace.lower()
    if "backend.userland.com/rss" in lowered:
        lowered = "http://backend.userland.com/rss"
    prefix = _NAMESPACES.get(lowered)
    if prefix is None:
        prefix = element.prefix or ""
    prefix = prefix.lower()
    return f"{prefix}_{local.lower()}" if prefix else local.lower()


def _add_tag(
    tags: list[dict[str, Any]], term: str | None, scheme: str | None, label: str | None
) -> None:
    """feedparser's ``_add_tag``: a tag with anything in it, unless the same one is there."""
    if not term and not scheme and not label:
        return
    tag = {"term": term, "scheme": scheme, "label": label}
    if tag not in tags:
        tags.append(tag)


def _attrs(element: Any) -> dict[str, str]:
    """Attributes as feedparser's strict parser names them (lower-case, std prefixes)."""
    if not element.keys():  # most elements have none, and keys() is the cheap way to know
        return {}
    out: dict[str, str] = {}
    for given, value in element.attrib.items():
        key = given
        if given[0] == "{":
            namespace, local = given[1:].split("}", 1)
            prefix = _NAMESPACES.get(namespace.lower(), "")
            key = f"{prefix}:{local}" if prefix else local
        key = key.lower()
        out[key] = value.lower() if key in ("rel", "type") else value
    return out


def _map_type(value: str) -> str:
    value = value.lower()
    return {
        "text": "text/plain",
        "plain": "text/plain",
        "html": "text/html",
        "xhtml": "application/xhtml+xml",
    }.get(value, value)


def _fix(output: str) -> str:
    """feedparser's last steps on every field: undo UTF-8-read-as-Latin-1, map C1 controls."""
    if not output.isascii():
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            output = output.encode("iso-8859-1").decode("utf-8")
        if _C1.search(output):  # translate() is slow on long text; C1 controls are rare
            output = output.translate(_cp1252)
    return output


def simple_html(fragment: str) -> bool:
    """True when sanitizing ``fragment`` cannot change its text (see the module docstring)."""
    if "<" not in fragment and "&" not in fragment:
        return True
    text = fragment
    if "<!--" in text:
        text = _COMMENT.sub(" ", text)
    if "<s" in text or "<S" in text:
        text = _SCRIPT.sub(" ", text)
    if "<iframe" in text:
        text = _EMPTY_IFRAME.sub(" ", text)
    # Every "<" left must open a well-formed tag (none survives the sub otherwise),
    # so the names after "<" and "</" are exactly the names of those tags.
    if not all(_safe_tag(name) for name in set(_TAG_NAME.findall(text))):
        return False
    text = _TAG.sub(" ", text)
    if "<" in text:
        return False
    start = text.find("&")
    while start != -1:
        found = _ENTITY.match(text, start)
        if found is None or (found.group(1) and found.group(1) not in _KEPT_ENTITIES):
            return False
        start = text.find("&", start + 1)
    return True


class _Reader:
    """One document's walk; raises :class:`_NotSure` to give up."""

    def __init__(self, root: Any, url: str, rebased: bool = True) -> None:
        self.root = root
        self.base = make_safe_absolute_uri(url) or url
        self.rebased = rebased  # False: no xml:base anywhere, every element has self.base
        root_name = _name(root)
        namespace = root.tag[1:].split("}", 1)[0] if root.tag[0] == "{" else ""
        if root_name == "rss" and not namespace:
            self.atom = False
        elif (
            root_name == "feed"
            and namespace == ATOM_NS
            and not _RSS_NAMESPACES & set(root.nsmap.values())
        ):
            self.atom = True  # (an RSS namespace declared first would make feedparser say RSS)
        elif (
            root_name == "rdf_rdf"
            and RSS10_NS in root.nsmap.values()
            and ATOM_NS not in root.nsmap.values()
        ):
            self.atom = False
        else:
            raise _NotSure(f"root element {root.tag}")
        self.root_name = root_name

    # --- the document --------------------------------------------------------------

    def read(self, max_entries: int | None = None) -> dict[str, Any]:
        entries_elements: list[Any] = []
        feed_titles: list[Any] = []
        feed_language: str | None = None
        if self.root_name in ("rss", "feed"):
            feed_language = self._lang(self.root)
            if feed_language:
                feed_language = feed_language.replace("_", "-")
        for element in self._outside_entries(self.root, entries_elements):
            name = _name(element)
            parent = _name(element.getparent())
            if name in ("title", "dc_title"):
                if parent in ("channel", "feed"):
                    feed_titles.append(element)
                elif parent not in ("image", "textinput"):
                    raise _NotSure(f"a title inside {parent}")
            elif name in ("language", "dc_language"):
                if parent not in ("channel", "feed"):
                    raise _NotSure(f"a language inside {parent}")
                feed_language = self._pop_text(element, "language")
            elif name in (
                "content",
                "content_encoded",
                "fullitem",
                "body",
                "xhtml_body",
                "source",
                "media_title",
            ):
                raise _NotSure(f"{name} outside an entry")
        if not entries_elements or len(feed_titles) > 1:
            raise _NotSure("no entries, or two feed titles")
        chosen = entries_elements
        if max_entries is not None:
            chosen = newest(entries_elements, max_entries, self._stamp)
        feed: dict[str, Any] = {"language": feed_language}
        if feed_titles:
            value, ctype = self._content(feed_titles[0], "title", "text/plain", exact=True)
            feed["title"] = value
            feed["title_detail"] = {"type": ctype}
        return {
            "feed": feed,
            "entries": [self._entry(element) for element in chosen],
            "version": "atom10" if self.atom else "rss",
            "total_entries": len(entries_elements),
        }

    def _outside_entries(self, element: Any, entries: list[Any]) -> Iterator[Any]:
        """Every element outside entries, in document order; entries collected on the way."""
        for child in element:
            name = _name(child)
            if name in ("item", "entry"):
                entries.append(child)
                for inner in child.iter():
                    if (
                        inner is not child
                        and isinstance(inner.tag, str)
                        and _name(inner) in ("item", "entry")
                    ):
                        raise _NotSure("nested entries")
                continue
            yield child
            yield from self._outside_entries(child, entries)

    # --- one entry -----------------------------------------------------------------

    def _stamp(self, item: Any) -> float | None:
        """An entry's date as :func:`_entry` would read it, without reading the rest."""
        published = updated = None
        for child in item:
            name = _name(child)
            if name in _PUBLISHED:
                published = child
            elif name in _UPDATED:
                updated = child
        chosen = published if published is not None else updated
        if chosen is None:
            return None
        return struct_seconds(_date(self._pop_text(chosen, "published")))

    def _entry(self, item: Any) -> dict[str, Any]:
        attrs = _attrs(item)
        if "lastmod" in attrs or "href" in attrs:
            raise _NotSure("CDF attributes on an entry")
        raw: dict[str, Any] = {}
        if attrs.get("rdf:about"):
            raw["id"] = attrs["rdf:about"]
        has_content = False
        titles = guids = authors = 0
        self.media_titles = 0
        for child in item:
            name = _name(child)
            if name == "source":
                continue  # feedparser files all of it under the entry's "source"
            self._check_inside(child, name)
            if name in _TITLE:
                titles += 1
                value, ctype = self._content(child, "title", "text/plain")
                raw["title"] = value
                raw["title_detail"] = {"type": ctype, "language": self._title_language(child)}
            elif name in _LINK:
                self._link(child, raw)
            elif name in _GUID:
                guids += 1
                self._guid(child, raw)
            elif name in _SUMMARY:
                has_content = self._summary(child, name, raw, has_content)
            elif name in _CONTENT:
                has_content = True
                self._add_content(child, _CONTENT[name], raw)
            elif name in _PUBLISHED:
                raw["published_parsed"] = _date(self._pop_text(child, "published"))
            elif name in _UPDATED:
                raw["updated_parsed"] = _date(self._pop_text(child, "updated"))
            elif name in _AUTHOR:
                authors += 1
                raw["author"] = self._author(child)
            elif name == "media_title":
                self.media_titles += 1
            elif name in _TAGS:
                self._tag(child, name, raw.setdefault("tags", []))
            elif name in _HANDLED and name not in _HARMLESS:
                raise _NotSure(f"entry element {name}")
        if titles > 1 or guids > 1 or authors > 1:
            raise _NotSure("repeated title, guid or author")
        if self.media_titles and not (titles == 1 and raw["title"]):
            # feedparser files a media:title as the title unless a non-empty title wins
            raise _NotSure("media:title without the entry's own title")
        return raw

    def _summary(self, child: Any, name: str, raw: dict[str, Any], has_content: bool) -> bool:
        """A summary element into ``raw``; whether the entry has content now."""
        if "summary" in raw and not has_content:
            self._add_content(child, "text/plain", raw)  # feedparser: a second summary is content
            return True
        default = "text/html" if name != "summary" else "text/plain"
        value, ctype = self._content(child, "description", default)
        raw["summary"] = value
        raw["summary_detail"] = {"type": ctype}
        return has_content

    def _check_inside(self, child: Any, name: str) -> None:
        """Nothing feedparser handles may hide below an entry's child (but an author's parts)."""
        for inner in child.iterdescendants():
            inner_name = _name(inner)
            if (
                name in _AUTHOR
                and inner.getparent() is child
                and (inner_name in _AUTHOR_PARTS or (inner_name not in _HANDLED and not len(inner)))
            ):
                continue  # an Atom author's name, email, uri (and Blogger's gd:image)
            if name in _HARMLESS or name not in _HANDLED or name == "media_title":
                if inner_name == "media_title":
                    self.media_titles += 1
                elif inner_name in _HANDLED and inner_name not in _HARMLESS:
                    raise _NotSure(f"{inner_name} inside {name}")
                continue
            raise _NotSure(f"markup inside {name}")

    def _tag(self, child: Any, name: str, tags: list[dict[str, Any]]) -> None:
        """feedparser's ``_start_category`` then ``_end_category``: a tag from the attributes,
        whose missing term the element's text fills, else a tag of the text alone; for
        ``media:keywords`` a tag per comma-separated word."""
        if name == "media_keywords":
            for term in self._pop_text(child, name).split(","):
                _add_tag(tags, term.strip(), None, None)
            return
        scheme = _CATEGORY[name]
        attrs = _attrs(child)
        if scheme is not None:
            attrs.setdefault("scheme", scheme)
        _add_tag(
            tags, attrs.get("term"), attrs.get("scheme", attrs.get("domain")), attrs.get("label")
        )
        value = self._pop_text(child, "category")
        if not value:
            return
        if tags and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            _add_tag(tags, value, None, None)

    def _link(self, child: Any, raw: dict[str, Any]) -> None:
        attrs = _attrs(child)
        rel = attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if rel == "self" else "text/html")
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs["href"] = href
        if "href" in attrs:  # even empty: feedparser then links to the feed's own URL
            if rel == "alternate" and _map_type(attrs["type"]) in _HTML_TYPES:
                raw["link"] = _join(self._base(child), attrs["href"])
            return
        if len(child):
            raise _NotSure("markup inside a link")
        output = self._pop_text(child, "link", resolve=True)
        if "&" in output:  # feedparser's undoing of entity references (needs an "&")
            output = _ENTITY_REF.sub(r"&\g<1>", output.replace("&amp;", "&"))
        raw["link"] = output

    def _guid(self, child: Any, raw: dict[str, Any]) -> None:
        is_link = _attrs(child).get("ispermalink", "true") == "true"
        value = self._pop_text(child, "id", resolve=is_link)
        raw["id"] = value
        if is_link:
            raw.setdefault("link", value)

    def _author(self, child: Any) -> str:
        if not len(child):
            return self._pop_text(child, "author")
        parts: dict[str, str] = {}
        for part in child:
            if len(part):
                raise _NotSure("markup inside an author part")
            if _name(part) in ("name", "email"):
                parts[_name(part)] = (part.text or "").strip()
        if (child.text or "").strip() or any((part.tail or "").strip() for part in child):
            raise _NotSure("text beside an author's parts")
        name, email = parts.get("name"), parts.get("email")
        if name and email:
            return f"{name} ({email})"
        return name or email or ""

    def _add_content(self, child: Any, default: str, raw: dict[str, Any]) -> None:
        value, ctype = self._content(child, "content", default)
        raw.setdefault("content", []).append({"type": ctype, "value": value})
        if ctype == "text/plain" or ctype in _HTML_TYPES:
            raw.setdefault("summary", value)

    # --- one field -----------------------------------------------------------------

    def _pop_text(self, element: Any, role: str, resolve: bool = False) -> str:
        """A text-only element through feedparser's ``pop`` (no content type involved)."""
        if len(element):
            raise _NotSure(f"markup inside {role}")
        output = (element.text or "").strip()
        if resolve and output:
            output = _join(self._base(element), output)
        return _fix(output)

    def _content(
        self, element: Any, role: str, default: str, exact: bool = False
    ) -> tuple[str, str]:
        """A text field with a content type: (value as feedparser stores it, its type)."""
        if len(element):
            raise _NotSure(f"markup inside {role}")
        attrs = _attrs(element)
        if "mode" in attrs or attrs.get("src"):
            raise _NotSure("base64 or out-of-line content")
        ctype = _map_type(attrs.get("type", default))
        if ctype == "application/xhtml+xml" or not (
            ctype.startswith("text/") or ctype.endswith(("+xml", "/xml"))
        ):
            raise _NotSure(f"content of type {ctype}")
        output = (element.text or "").strip()
        if not self.atom and ctype == "text/plain" and _FeedParserMixin.looks_like_html(output):
            ctype = "text/html"
        if ctype in _HTML_TYPES and (exact or not simple_html(output)):
            output = resolve_relative_uris(output, self._base(element), "utf-8", ctype)
            output = _sanitize_html(output, "utf-8", ctype)
        return _fix(output), ctype

    def _base(self, element: Any) -> str:
        """The base URI in force at ``element``: the feed URL re-based by every xml:base above."""
        if not self.rebased:
            return self.base
        chain = [element, *element.iterancestors()]
        base = self.base
        for node in reversed(chain):
            attrs = _attrs(node)
            given = attrs.get("xml:base", attrs.get("base")) or base
            base = (make_safe_absolute_uri(base, given) or base) if base else _urljoin(base, given)
        return base

    def _lang(self, element: Any) -> str | None:
        attrs = _attrs(element)
        value = attrs.get("xml:lang", attrs.get("lang"))
        return value if value is None else (value or None)

    def _title_language(self, title: Any) -> str | None:
        node = title
        while node is not None:
            attrs = _attrs(node)
            value = attrs.get("xml:lang", attrs.get("lang"))
            if value is not None:
                return value.replace("_", "-") if value else None
            node = node.getparent()
        return None
