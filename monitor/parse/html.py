"""HTML fragments to plain text, for titles and summaries.

Feeds put markup, entities and whitespace noise into text fields. Everything
downstream (matching, dedup, digests) works on plain text, and the digest
renderer escapes it again: no feed-provided markup survives to a reader.

Speed: HTMLParser walks a fragment in Python, a few microseconds per tag,
and summaries and contents are most of what a feed weighs. So a "tidy"
fragment (every ``<`` opens a comment or a well-formed tag; 99 % of the
fields in the real-world corpus) is split with one regex pass that emits the
very parts :class:`_TextCollector` would; anything else goes to HTMLParser. A
property test holds the two equal on random tag soup.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "tr",
        "table",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "section",
        "article",
        "header",
        "footer",
        "figure",
        "figcaption",
        "hr",
        "pre",
    }
)
_SKIP_TAGS = frozenset(
    {"script", "style", "template", "noscript", "iframe", "object", "svg", "head"}
)
# Runs of spaces to make one: any run but a lone " " (replacing that with itself, at every
# word, would cost as much as the rest of the function).
_SPACES = re.compile(r"[\t\r\f\v\u00a0\u200b][ \t\r\f\v\u00a0\u200b]*| [ \t\r\f\v\u00a0\u200b]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


# The tokens of a "tidy" fragment: comments and well-formed tags. For fragments
# made only of these and text, _tidy_parts reproduces _TextCollector's output
# with one regex pass instead of HTMLParser's Python-level state machine.
_TOKEN = re.compile(
    r"<!--(?!-?>)(?:(?!--)[^<])*-->"
    r"|<(/?)([A-Za-z][A-Za-z0-9]*)"
    r"((?:\s+[A-Za-z_][-A-Za-z0-9_.]*(?:\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s\"'=<>`]+))?)*)"
    r"\s*(/?)>"
)
_RAW_TEXT = frozenset({"script", "style"})  # HTMLParser reads their content as raw text


def _tidy_parts(fragment: str) -> list[str] | None:
    """What _TextCollector would collect, or None when the fragment is not tidy enough.

    Tidy: every ``<`` opens a comment or a well-formed tag, end tags carry no
    attributes, and script/style hold no ``<`` before their end tag. Anything
    else (stray ``<``, declarations, CDATA, odd quoting) goes to HTMLParser.
    """
    parts: list[str] = []
    skipping = 0
    raw_text: str | None = None
    position = 0
    for token in _TOKEN.finditer(fragment):
        data = fragment[position : token.start()]
        position = token.end()
        if "<" in data:
            return None
        name = (token.group(2) or "").lower()
        if raw_text is not None:
            if not (token.group(1) and name == raw_text and not token.group(3)):
                return None
            raw_text = None
        elif data and not skipping:
            parts.append(html.unescape(data))
        if not name:
            continue  # a comment
        if token.group(1):
            if token.group(3) or token.group(4):
                return None
            ends: tuple[str, ...] = (name,)
            starts: tuple[str, ...] = ()
        else:
            starts = (name,)
            ends = (name,) if token.group(4) else ()
            if name in _RAW_TEXT and not token.group(4):
                raw_text = name
        for tag in starts:
            if tag in _SKIP_TAGS:
                skipping += 1
            elif tag in _BLOCK_TAGS:
                parts.append("\n")
        for tag in ends:
            if tag in _SKIP_TAGS:
                skipping = max(0, skipping - 1)
            elif tag in _BLOCK_TAGS:
                parts.append("\n")
    tail = fragment[position:]
    if raw_text is not None or "<" in tail:
        return None
    if tail and not skipping:
        parts.append(html.unescape(tail))
    return parts


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, spaces tidied."""
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return normalize_space(fragment)
    parts = _tidy_parts(fragment)
    if parts is None:
        collector = _TextCollector()
        collector.feed(fragment)
        collector.close()
        parts = collector.parts
    return normalize_space("".join(parts))


def plain_text(value: str) -> str:
    """A text/plain field: decode stray entities, tidy spaces, keep ``<`` as typed."""
    return normalize_space(html.unescape(value)) if "&" in value else normalize_space(value)


def normalize_space(text: str) -> str:
    """Collapse runs of spaces, keep paragraph breaks as single blank-free newlines."""
    # _SPACES can match only where the text holds two plain spaces in a row or one of its
    # other spaces; most fields hold neither, and these scans cost a tenth of the regex's.
    if (
        "  " in text
        or "\t" in text
        or "\r" in text
        or "\f" in text
        or "\v" in text
        or (not text.isascii() and ("\u00a0" in text or "\u200b" in text))
    ):
        text = _SPACES.sub(" ", text)
    if "\n" not in text:  # one line: stripping it is all the rest would do
        return text.strip()
    lines = (line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()
