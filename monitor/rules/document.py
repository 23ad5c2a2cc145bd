"""An entry folded at most once per field, ready for any number of queries.

:class:`FoldedEntry` folds each field of an entry the first time something
asks for it (:class:`~monitor.rules.fold.FoldedField`) and keeps it for the
rest of the match call, so no field is ever folded twice, and a field no rule
looks at (``url`` when no watch uses ``url:``) is not folded at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from monitor.rules.fields import FIELD_RANK, body_fields, field_text, scope_fields
from monitor.rules.fold import FoldedField
from monitor.types import Entry

_UNSEEN: Final = FoldedField("", "")
"""Marks a field not looked at yet (``None`` means the entry leaves it empty)."""

_SHARED_FIELDS: Final = frozenset(("source", "lang"))
"""Fields whose text repeats from entry to entry (a feed's name, a language tag)."""

_SHARED_LIMIT: Final = 4096
_shared: Final[dict[tuple[str, str], FoldedField]] = {}
"""Folded fields of :data:`_SHARED_FIELDS` by name and text, shared by every entry.

A :class:`FoldedField` is a function of its text (its lazily filled parts
included), so handing the same one to every entry of a feed changes no
result; it only saves folding "Reuters" again for each of its items. Bounded:
emptied when full (a process rarely sees more feed names than this). Several threads
may fill the same field's lazy parts at once: each writes the same value, so under the
GIL the race is harmless, and no lock is taken on the hot path."""


class FoldedEntry:
    """The searchable fields of one entry, folded on first use.

    Only ever used within one match call; its lazily filled dictionaries are
    caches, not state anyone can observe.
    """

    __slots__ = ("_body", "_fields", "_scopes", "entry")

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self._body = body_fields(entry)
        self._fields: dict[str, FoldedField | None] = {}
        self._scopes: dict[str, tuple[FoldedField, ...]] = {}

    def field(self, name: str) -> FoldedField | None:
        """The folded field, or ``None`` when the entry leaves it empty."""
        # get() with a default, not try/except: every field misses once per
        # entry, and raising KeyError costs more than the lookup.
        folded = self._fields.get(name, _UNSEEN)
        if folded is not _UNSEEN:
            return folded
        text = field_text(self.entry, name)
        if not text:
            found = None
        elif name in _SHARED_FIELDS:
            found = _shared.get((name, text))
            if found is None:
                if len(_shared) >= _SHARED_LIMIT:
                    _shared.clear()
                found = _shared[(name, text)] = FoldedField(name, text, FIELD_RANK[name])
                found.hits = {}
        else:
            found = FoldedField(name, text, FIELD_RANK[name])
        self._fields[name] = found
        return found

    def scope(self, scope: str) -> tuple[FoldedField, ...]:
        """The non-empty folded fields a query scope covers, in span order."""
        known = self._scopes.get(scope)
        if known is not None:
            return known
        listed: list[FoldedField] = []
        for name in scope_fields(scope, self._body):
            folded = self.field(name)
            if folded is not None:
                listed.append(folded)
        found = self._scopes[scope] = tuple(listed)
        return found

    def words(self, fields: Iterable[str]) -> set[str]:
        """Every distinct edge word of the given fields (what the index looks keys up in)."""
        found = [folded.vocabulary for name in fields if (folded := self.field(name)) is not None]
        return set().union(*found)

    def vocabularies(self, fields: Iterable[str]) -> list[set[str]]:
        """The edge words of each of the given fields that the entry has: :meth:`words`
        without the union, for a caller to whom a word met twice does no harm."""
        return [folded.vocabulary for name in fields if (folded := self.field(name)) is not None]

    def haystack(self, fields: Iterable[str]) -> str:
        """Every distinct edge word of the given fields, each wrapped in spaces.

        The index runs its automaton over this string: ``" word "`` finds an
        exact word and ``" pre"`` a prefix, and a key can never match inside a
        longer word. Words, not raw text, so joined words (``us`` from "U.S.")
        are found too and each word is scanned once however often it occurs.
        """
        words: set[str] = set()
        for name in fields:
            folded = self.field(name)
            if folded is not None:
                words.update(folded.vocabulary)
        return " " + " ".join(words) + " "
