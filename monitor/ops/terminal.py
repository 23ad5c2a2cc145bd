"""Text from feeds and receivers made safe for a terminal.

A feed's name, title or error text is written by strangers. Printed as is, an
escape sequence can rewrite the screen or the window title, a NUL can cut a
line short in some tools, and rich markup (``[link=...]``) becomes a hyperlink
in a rich table. :func:`safe` strips control characters (tabs and line breaks
kept) and escapes rich markup; :func:`one_line` also folds the text onto one
line, for table cells and log-style lines.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what is shown.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)?")


def plain(text: str) -> str:
    """``text`` without escape sequences or control characters (tabs and line breaks kept)."""
    return _CONTROLS.sub("", _ESCAPE_SEQUENCE.sub("", text))


def one_line(text: str) -> str:
    """:func:`plain`, with every run of white space (line breaks too) made one space."""
    return " ".join(plain(text).split())


def safe(text: str | None) -> str:
    """:func:`plain`, then escaped for rich: what a rich console prints is the text itself."""
    from rich.markup import escape  # rich only where tables are drawn (see monitor.cli)

    return escape(plain(text or ""))


__all__ = ["one_line", "plain", "safe"]
