"""HTML fragments to plain text, for titles and summaries.

Feeds put markup, entities and whitespace noise into text fields. Everything
downstream (matching, dedup, digests) works on plain text, and the digest
renderer escapes it again: no feed-provided markup survives to a reader.
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
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
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


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, spaces tidied."""
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return normalize_space(fragment)
    collector = _TextCollector()
    collector.feed(fragment)
    collector.close()
    return normalize_space("".join(collector.parts))


def plain_text(value: str) -> str:
    """A text/plain field: decode stray entities, tidy spaces, keep ``<`` as typed."""
    return normalize_space(html.unescape(value)) if "&" in value else normalize_space(value)


def normalize_space(text: str) -> str:
    """Collapse runs of spaces, keep paragraph breaks as single blank-free newlines."""
    text = _SPACES.sub(" ", text)
    lines = (line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()
