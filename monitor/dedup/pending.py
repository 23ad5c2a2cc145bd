"""The stories still waiting for a digest, kept in memory for the entries no digest can show.

These are backfill entries and, under ``dedup.index_unmatched: true``, entries that
matched no watch; by default (``dedup.index_unmatched: false``) an alertable entry
that matched nothing is looked up nowhere and indexed under no key
(:attr:`monitor.intake.Lookup.NONE`, whose docstring says what that changes).
What follows is the argument for the pending lookup itself.

Most new entries match no watch (on the 200 real feeds, 5 to 25 of 6,530), and the full
duplicate lookup (:func:`~monitor.dedup.index.find_duplicate` over the whole archive: three
key queries, then the candidates fetched and compared) was most of a poll's per-entry work.
For an entry that cannot reach a digest itself (it matched no watch, or it is backfill), the
only part of that lookup whose answer a reader can see is whether it copies a story still
waiting for a digest; everything else it could find changes nothing that is sent. So such an
entry is looked up among the *pending* stories only (their roots and the copies that joined
them; plus the earlier entries of its own document, which are in memory anyway), and stored,
with all its keys, as an article of its own when none of them is its original. The known
articles (seeds) are looked up too: they are few, and a copy of one is always named as such
(``monitor explain``, the poll's duplicates), whether or not it matched.

Why every copy that could reach a digest is still caught:

* An entry that can reach a digest (it matched, and is not backfill) still gets the full
  lookup, over the whole archive, exactly as before.
* Such an entry ``B`` copying an earlier entry ``A`` that matched nothing still finds it:
  ``A`` is stored under all its keys (an original's keys, where a copy used to keep only its
  exact ones), so ``B`` finds ``A`` or ``A``'s own original by the same keys as before, and
  more candidates only add copies of the same story. Its outcome is unchanged: it joins
  the story when that story is pending, and is suppressed when it is not. If ``A``'s
  original ``X`` is pending, ``A`` found ``X`` here and joined it, so whichever of ``A``
  and ``X`` ``B`` finds, the root is ``X`` and ``B`` joins; if nothing of the story is
  pending, ``A``, ``X`` and the story of either are all not pending, so ``B`` is suppressed
  as before.
* An entry that matched nothing and copies a pending story joins it as before, so the
  digest's "also carried by", and which copy leads the story, are unchanged.

What is no longer recorded is which *delivered or unqueued* stored article an unmatched entry
copies: ``monitor explain`` shows such an entry as an original, and the poll's
``duplicates`` count only counts copies that were looked for.

The set of pending stories changes as entries are queued, digests claim them and copies
join them (by any replica), so :meth:`PendingStories.refresh` reads what changed before
each feed is judged: the pending roots (a few, from an indexed column), the entries that
joined them since the last refresh (a primary-key range), and the keys of entries not yet
held (by entry, indexed). Keys are held only for pending stories, and dropped when a
digest takes a story.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

from monitor.dedup.index import DedupIndex, StoredDocument


class PendingSource(Protocol):
    """What :class:`PendingStories` reads from the store."""

    def pending_roots(self) -> set[int]:
        """Ids of the stories (their root entries) that have an alert item not in a digest."""
        ...

    def known_articles(self) -> set[int]:
        """Ids of the known articles (seeds)."""
        ...

    def story_members(self, roots: Iterable[int], after: int) -> list[tuple[int, int]]:
        """``(entry id, root)`` of the entries that joined one of ``roots``, with ids
        above ``after``."""
        ...

    def keys_of(self, ids: Sequence[int]) -> dict[int, list[int]]:
        """The dedup keys stored for each of the entries ``ids``."""
        ...

    def last_entry_id(self) -> int:
        """The highest entry id stored (0 when none)."""
        ...


class PendingStories:
    """The keys of every entry of a story waiting for a digest, and of the known articles."""

    def __init__(self) -> None:
        self._members: dict[int, int] = {}  # entry id -> root
        self._keys: dict[int, tuple[int, ...]] = {}
        self._roots: set[int] = set()
        self._seen_up_to = 0
        self._postings: dict[int, list[int]] | None = None

    def __len__(self) -> int:
        return len(self._members)

    def clear(self) -> None:
        """Forget everything (after a rolled-back write: its ids may be given out again);
        the next refresh reads it all."""
        self._members.clear()
        self._keys.clear()
        self._roots = set()
        self._seen_up_to = 0
        self._postings = None

    def refresh(self, source: PendingSource) -> None:
        """Bring the held stories up to date with the store."""
        last = source.last_entry_id()
        roots = source.pending_roots() | source.known_articles()
        new_roots = roots - self._roots
        gone = self._roots - roots
        if gone:
            for entry_id in [e for e, root in self._members.items() if root in gone]:
                del self._members[entry_id]
                self._keys.pop(entry_id, None)
        added: list[int] = []
        for root in new_roots:
            self._members[root] = root
            added.append(root)
        # Copies that joined stories already held, since the last refresh; and every copy of
        # a story seen pending for the first time.
        joined = source.story_members(roots - new_roots, self._seen_up_to) if roots else []
        if new_roots:
            joined += source.story_members(new_roots, 0)
        for entry_id, root in joined:
            if entry_id not in self._members:
                self._members[entry_id] = root
                added.append(entry_id)
        if added:
            for entry_id, keys in source.keys_of(added).items():
                self._keys[entry_id] = tuple(keys)
        self._roots = roots
        self._seen_up_to = max(self._seen_up_to, last)
        if gone or added:
            self._postings = None

    def index(self, documents: DedupIndex) -> PendingIndex:
        """A :class:`DedupIndex` over the held stories; candidates' documents come from
        ``documents`` (the archive)."""
        if self._postings is None:
            postings: dict[int, list[int]] = {}
            for entry_id in sorted(self._keys):
                for key in self._keys[entry_id]:
                    postings.setdefault(key, []).append(entry_id)
            self._postings = postings
        return PendingIndex(self._postings, documents)


class PendingIndex:
    """Candidates among the pending stories only; documents read from the archive."""

    def __init__(self, postings: dict[int, list[int]], documents: DedupIndex) -> None:
        self._postings = postings
        self._documents = documents

    def candidates(self, keys: Sequence[int], limit: int, per_key: int) -> list[tuple[int, int]]:
        counts: Counter[int] = Counter()
        for key in dict.fromkeys(keys):
            posting = self._postings.get(key)
            if posting:
                counts.update(posting[-per_key:])  # ascending ids: the newest last
        return sorted(counts.items(), key=lambda item: (-item[1], -item[0]))[:limit]

    def documents(self, ids: Sequence[int]) -> list[StoredDocument]:
        return self._documents.documents(ids) if ids else []
