"""The per-entry work between parsing and storage: identify, match, fingerprint.

::

    ParsedFeed ──> identify ──> match ──> fingerprint ──> PreparedEntry
                   (entry key)  (watch rules) (dedup features)

All three are pure functions of the entry, so they run wherever the feed was
parsed: in the parser's worker process for a large document
(:func:`parse_and_prepare`, the job the pipeline hands
:meth:`~monitor.parse.pool.ParserPool.run`), in a thread otherwise.
What is left for the pipeline's single writer thread is only what needs the
database: which entries are new, which stored article each one copies, and
the writes.

Every entry of the document is prepared, including ones the store already
holds: a feed's body only reaches this point when it changed, and deciding
what is new first would cost a second trip to the worker.

Fingerprinting is most of an entry's work, and most entries match no watch. A
:class:`Scope` says which entries that matched nothing are fingerprinted all the
same (``dedup.index_unmatched``; the ones that may be backfill are, since copies
of an old story are found through them); the others carry no features, and the
writer fingerprints one itself (:meth:`PreparedEntry.fingerprint_input`) in the
rare case its own clock makes it backfill after all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache

from monitor.dedup.boilerplate import learn_units, mask, units
from monitor.dedup.features import Features, fingerprint_entries
from monitor.dedup.keys import entry_key, link_trusted, shared_links
from monitor.dedup.packed import pack
from monitor.dedup.scheme import SignatureScheme
from monitor.dedup.settings import DedupSettings
from monitor.parse.limits import ItemLimits
from monitor.rules import RuleSet, WatchSpec, compile_watches
from monitor.rules.aliases import Aliases, AliasMember
from monitor.rules.guards import GUARDS
from monitor.rules.settings import DEFAULT_RULE_SETTINGS, RuleSettings
from monitor.sources import parse_document
from monitor.types import Entry, Match, ParsedFeed, quick_pickle


@quick_pickle
@dataclass(frozen=True, slots=True)
class PreparedEntry:
    """One parsed entry with everything decided about it without the database."""

    key: str
    """Its identity key (:func:`monitor.dedup.keys.entry_key`)."""
    entry: Entry
    """The entry as parsed."""
    matches: tuple[Match, ...]
    """The watches it matched, with spans and scores."""
    features: Features | None
    """Its duplicate-detection fingerprint, with lookup keys; None when its :class:`Scope`
    left it out (it matched no watch)."""
    cleaned: Entry | None = None
    """The entry with its feed's boilerplate blanked out (same length, so match offsets
    hold in the stored text): what was matched and fingerprinted. None: nothing removed."""
    link_shared: bool = False
    """Its link is one that other items of the document carry with other text (a page,
    not the item: :func:`monitor.dedup.keys.shared_links`), so it is not fingerprinted."""
    packed: bytes | None = None
    """``features`` packed for the store (:func:`monitor.dedup.packed.pack`), here in the
    worker rather than in the writer thread; None without features."""

    def fingerprint_input(self) -> Entry:
        """What its fingerprint is (or would be) computed from."""
        return _fingerprint_input(
            self.entry if self.cleaned is None else self.cleaned, self.link_shared
        )


def _fingerprint_input(clean: Entry, link_shared: bool) -> Entry:
    return replace(clean, link=None, canonical_link=None) if link_shared else clean


@dataclass(frozen=True, slots=True)
class Scope:
    """Which entries :func:`prepare` fingerprints: every one that matched a watch, and of
    the others, all of them or only those published before ``older_than``."""

    unmatched: bool = True
    """Fingerprint the entries that matched no watch too."""
    older_than: datetime | None = None
    """When ``unmatched`` is false, the unmatched entries published before this are
    fingerprinted all the same (they may be backfill). None: none of them."""

    def wants(self, entry: Entry, matched: bool) -> bool:
        if matched or self.unmatched:
            return True
        published, cutoff = entry.published, self.older_than
        return published is not None and cutoff is not None and published < cutoff


EVERY_ENTRY = Scope()


@dataclass(frozen=True, slots=True)
class RuleSource:
    """What a worker process needs to compile the watches itself: small and picklable."""

    watches: tuple[WatchSpec, ...]
    aliases: tuple[tuple[str, tuple[AliasMember, ...]], ...]
    settings: RuleSettings = DEFAULT_RULE_SETTINGS
    guards: tuple[tuple[str, str], ...] = tuple(GUARDS.items())
    """Every guard a watch may name, with its query: the shipped ones and the config's."""

    @classmethod
    def of(
        cls,
        watches: Sequence[WatchSpec],
        aliases: Aliases,
        settings: RuleSettings = DEFAULT_RULE_SETTINGS,
        guards: Mapping[str, str] = GUARDS,
    ) -> RuleSource:
        return cls(
            tuple(watches),
            tuple((name, tuple(words)) for name, words in aliases.items()),
            settings,
            tuple(guards.items()),
        )

    def compile(self) -> RuleSet:
        return compile_watches(self.watches, dict(self.aliases), self.settings, dict(self.guards))


@lru_cache(maxsize=4)
def _compiled(source: RuleSource) -> RuleSet:
    # Once per worker process and config: compiling a thousand watches takes a while.
    return source.compile()


_BOILERPLATE_MIN_ITEMS = DedupSettings().boilerplate_min_items


def without_boilerplate(
    entries: Sequence[Entry], min_items: int = _BOILERPLATE_MIN_ITEMS
) -> list[Entry]:
    """``entries`` with the text their feed repeats across items blanked out
    (:mod:`monitor.dedup.boilerplate`); unchanged entries are the same objects."""
    # Each field's units once, for learning and for masking alike.
    fields = [(units(entry.summary), units(entry.content)) for entry in entries]
    found = learn_units(
        (
            (entry.title, [*summary_units, *content_units])
            for entry, (summary_units, content_units) in zip(entries, fields, strict=True)
        ),
        min_items,
    )
    cleaned = []
    for entry, (summary_units, content_units) in zip(entries, fields, strict=True):
        summary = mask(entry.summary, found, summary_units)
        content = mask(entry.content, found, content_units)
        changed = summary != entry.summary or content != entry.content
        cleaned.append(replace(entry, summary=summary, content=content) if changed else entry)
    return cleaned


def prepare(
    entries: Sequence[Entry],
    rules: RuleSet,
    scheme: SignatureScheme,
    boilerplate_min_items: int = _BOILERPLATE_MIN_ITEMS,
    scope: Scope = EVERY_ENTRY,
) -> tuple[PreparedEntry, ...]:
    """Key, match and fingerprint ``entries`` (those ``scope`` wants); a repeat inside one
    document is one item.

    A link that several items of the document share with different text names a
    page, not an item (:func:`monitor.dedup.keys.shared_links`): it neither keys
    nor fingerprints them, or every item after the first would be taken for a copy.

    Text the feed repeats across its items (:func:`without_boilerplate`) is
    neither matched nor fingerprinted; the entry is stored whole.
    """
    shared = shared_links(entries)
    keyed = {entry_key(entry, link_trusted(entry, shared)): entry for entry in entries}
    cleaned = without_boilerplate(list(keyed.values()), boilerplate_min_items)
    matches = [tuple(rules.match(clean)) for clean in cleaned]
    link_shared = [not link_trusted(entry, shared) for entry in keyed.values()]
    wanted = [
        scope.wants(entry, bool(matched))
        for entry, matched in zip(keyed.values(), matches, strict=True)
    ]
    # All of the wanted fingerprints at once: the same values as one at a time.
    found = iter(
        fingerprint_entries(
            [
                _fingerprint_input(clean, shared_link)
                for clean, shared_link, wants in zip(cleaned, link_shared, wanted, strict=True)
                if wants
            ],
            scheme,
        )
    )
    prepared = []
    for (key, entry), clean, matched, shared_link, wants in zip(
        keyed.items(), cleaned, matches, link_shared, wanted, strict=True
    ):
        features = next(found) if wants else None
        prepared.append(
            PreparedEntry(
                key,
                entry,
                matched,
                features,
                None if clean is entry else clean,
                shared_link,
                None if features is None else pack(features, scheme.tag),
            )
        )
    return tuple(prepared)


def prepare_parsed(
    parsed: ParsedFeed,
    source: RuleSource,
    scheme: SignatureScheme,
    boilerplate_min_items: int = _BOILERPLATE_MIN_ITEMS,
    scope: Scope = EVERY_ENTRY,
) -> tuple[PreparedEntry, ...]:
    """:func:`prepare` for a worker process, which compiles the rules from ``source``."""
    return prepare(parsed.entries, _compiled(source), scheme, boilerplate_min_items, scope)


@dataclass(frozen=True, slots=True)
class Recipe:
    """How a worker turns a feed's body into prepared entries: small and picklable."""

    rules: RuleSource
    """The watches, compiled once per worker process."""
    scheme: SignatureScheme
    """The fingerprint scheme (``dedup``)."""
    boilerplate_min_items: int
    """Items a feed must repeat a passage across for it to count as boilerplate."""
    fast: bool
    """Use the fast parser where it applies (``fetch.fast_parse``)."""
    limits: ItemLimits | None
    """Caps on a document's items and fields (``fetch.max_items_per_feed``...)."""


def parse_and_prepare(
    content: bytes,
    url: str,
    name: str,
    content_type: str | None,
    base: str | None,
    kind: str | None,
    recipe: Recipe,
    scope: Scope = EVERY_ENTRY,
) -> tuple[ParsedFeed, tuple[PreparedEntry, ...]]:
    """Parse a feed's body (as :func:`monitor.sources.parse_document`) and prepare its
    entries: the whole job of a parser worker, returned in one piece, so that the
    entries cross back to the pipeline once."""
    parsed = parse_document(
        content,
        url,
        name,
        content_type,
        fast=recipe.fast,
        base=base,
        limits=recipe.limits,
        kind=kind,
    )
    return parsed, prepare_parsed(
        parsed, recipe.rules, recipe.scheme, recipe.boilerplate_min_items, scope
    )
