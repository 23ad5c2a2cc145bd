"""Make a feed's declared encoding match its bytes, or say why it cannot.

Publishers get encodings wrong both ways. A windows-1252 feed declared UTF-8
is invalid UTF-8; a UTF-8 feed declared windows-1252 decodes "fine" into
mojibake (``rÃ©sumÃ©``, ``â€™``), which feedparser repairs only when every
character happens to fit Latin-1. Stored mojibake is never fixed later, so
the bytes are checked before any parser sees them:

* bytes that are valid UTF-8 (and not plain ASCII) are UTF-8, whatever the
  declaration says: a legacy-encoded text with accented letters is almost
  never valid UTF-8 by accident;
* bytes declared UTF-8 (or undeclared) that are not valid UTF-8 are decoded
  as windows-1252, the de-facto encoding of such feeds, when that decodes
  strictly; otherwise the feed fails with a reason;
* any other declared encoding must decode the bytes strictly, or the feed
  fails with a reason.

A byte-order mark, or a UTF-16/32 document, is left to feedparser's own
detection. A changed decision is written back into both the XML
declaration and the Content-Type's charset, so every parser agrees.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_DECL = re.compile(
    rb"^(\s*<\?xml\b[^>]*?)(?:\s+encoding\s*=\s*([\"'])([A-Za-z0-9._-]*)\2)([^>]*\?>)"
)
_DECL_START = re.compile(rb"^\s*<\?xml\b[^>]*?\?>")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([^\"';\s]+)[\"']?", re.IGNORECASE)
_BOMS = (
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
)
_WESTERN = frozenset({"windows-1252", "iso8859-1", "iso8859-15", "ascii", "latin-1", "cp1252"})


class EncodingProblem(Exception):
    """The bytes cannot be decoded with any encoding we can justify."""


@dataclass(frozen=True, slots=True)
class Settled:
    """The document to parse, with declarations that match its bytes."""

    content: bytes
    content_type: str | None
    note: str | None = None
    """What was corrected, if anything (for logs)."""


def _codec(name: str | None) -> str | None:
    """Python's canonical name for an encoding label, or None if unknown."""
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def settle_encoding(content: bytes, content_type: str | None) -> Settled:
    """Check (and if needed correct) the declared encoding; raise EncodingProblem if hopeless."""
    if content.startswith(_BOMS) or content[:4].count(0) >= 1 or content.isascii():
        return Settled(content, content_type)
    http_label = _CHARSET.search(content_type or "")
    found = _DECL.match(content[:1024])
    label = (
        http_label.group(1) if http_label else (found.group(3).decode("ascii") if found else None)
    )
    declared = _codec(label)
    declared_name = label or "utf-8"
    try:
        content.decode("utf-8")
        valid_utf8 = True
    except UnicodeDecodeError:
        valid_utf8 = False
    if valid_utf8:
        if declared in (None, "utf-8") and not (label and declared is None):
            return Settled(content, content_type)
        return _declare(content, content_type, "utf-8", f"declared {declared_name}, but is UTF-8")
    if declared in (None, "utf-8") and not (label and declared is None):
        if _decodes(content, "windows-1252"):
            return _declare(
                content, content_type, "windows-1252", "declared UTF-8, but is windows-1252"
            )
        raise EncodingProblem(
            "bytes are not valid UTF-8 as declared, nor windows-1252; cannot tell the encoding"
        )
    if declared is None:
        raise EncodingProblem(f"unknown encoding {label!r} and the bytes are not UTF-8")
    if not _decodes(content, declared):
        raise EncodingProblem(f"bytes are not valid {declared_name} as declared")
    return Settled(content, content_type)


def _decodes(content: bytes, encoding: str) -> bool:
    try:
        content.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _declare(content: bytes, content_type: str | None, encoding: str, note: str) -> Settled:
    """Rewrite the XML declaration and the Content-Type charset to ``encoding``."""
    found = _DECL.match(content[:1024])
    wanted = f' encoding="{encoding}"'.encode("ascii")
    if found:
        content = found.group(1) + wanted + found.group(4) + content[found.end() :]
    elif (start := _DECL_START.match(content[:1024])) is not None:
        head = start.group(0)
        content = head[:-2].rstrip() + wanted + b"?>" + content[start.end() :]
    else:
        content = b'<?xml version="1.0"' + wanted + b"?>\n" + content.lstrip()
    if content_type:
        mime = content_type.split(";", 1)[0].strip()
        content_type = f"{mime}; charset={encoding}"
    return Settled(content, content_type, note)
