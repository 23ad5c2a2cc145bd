"""Near-duplicate detection: one story, however many feeds carry it.

Readers must not see forty syndicated copies of one wire story, nor a story
they already know. An incoming article is a duplicate of a stored one when:

* both links are one article address (``monitor.parse.urls.canonical_url``:
  tracking, AMP, mobile, scheme and redirect-wrapper spellings folded);
* both carry one feed guid;
* both bodies are equal after cleaning and folding (``text_hash``); or
* the bodies are near-copies by exact shingle scores: Jaccard for copies of
  similar length, containment for trimmed copies and headline-plus-two-
  sentences feed items, with guards that keep different stories on one topic
  apart: differing figures and days, a lead of its own (a follow-up that
  recycles old paragraphs), an opening of its own (a roundup quoting a story).

Candidates are found through keys stored per article (exact keys, the first
words of the opening sentences, MinHash LSH bands of the body and of its lead)
and then compared exactly. Modules, in the order data flows through them::

    text.py        clean furniture, fold spelling, tokens, lead, opening, facts, text hash
    signature.py   shingle hashes, MinHash (fixed, documented seeds), band and exact keys
    features.py    Features: the fingerprint of one article
    similarity.py  exact Jaccard, containment, title similarity
    settings.py    DedupSettings: every threshold, with its reason
    decide.py      decide(): the pure verdict over fingerprints
    index.py       DedupIndex Protocol, MemoryIndex, find_duplicate()
    evaluation.py  labelled pairs, seed-derived pairs, precision and recall

(``keys.py`` is identity, a different question: is this the *same feed item*
we already stored?)

Everything is a pure function of values and settings; storage is reached only
through the :class:`~monitor.dedup.index.DedupIndex` Protocol.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.dedup.decide import DuplicateDecision, Signal, decide
    from monitor.dedup.features import Features, fingerprint, fingerprint_entry
    from monitor.dedup.index import (
        DedupIndex,
        MemoryIndex,
        StoredDocument,
        WritableDedupIndex,
        find_duplicate,
        index_document,
        remember,
    )
    from monitor.dedup.scheme import V1, SignatureScheme
    from monitor.dedup.settings import DedupSettings

# Importing one submodule (the store reads monitor.dedup.seeds, config checks
# monitor.dedup.settings) must not load all of them: the names below load on first use.
_HOMES = {
    "DuplicateDecision": "decide",
    "Signal": "decide",
    "decide": "decide",
    "Features": "features",
    "fingerprint": "features",
    "fingerprint_entry": "features",
    "DedupIndex": "index",
    "MemoryIndex": "index",
    "StoredDocument": "index",
    "WritableDedupIndex": "index",
    "find_duplicate": "index",
    "index_document": "index",
    "remember": "index",
    "DedupSettings": "settings",
    "V1": "scheme",
    "SignatureScheme": "scheme",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:  # a submodule not imported yet: the import system loads it next
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "V1",
    "DedupIndex",
    "DedupSettings",
    "DuplicateDecision",
    "Features",
    "MemoryIndex",
    "Signal",
    "SignatureScheme",
    "StoredDocument",
    "WritableDedupIndex",
    "decide",
    "find_duplicate",
    "fingerprint",
    "fingerprint_entry",
    "index_document",
    "remember",
]
