"""Counts in words for people to read: ``1 feed``, ``2 feeds``, ``3 summaries``.

A leaf module (it imports nothing of ours) so that any layer, the parser as much
as the CLI, says its counts with the same rule.
"""

from __future__ import annotations


def noun(count: float, singular: str, plural: str | None = None) -> str:
    """The noun that agrees with ``count``: the singular for exactly one, else the plural
    (``singular`` + s unless ``plural`` is given, as for summary, summaries)."""
    if count == 1:
        return singular
    return plural if plural is not None else f"{singular}s"


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` and the noun that agrees with it, digits as ``str`` writes them."""
    return f"{count} {noun(count, singular, plural)}"
