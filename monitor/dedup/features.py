"""The fingerprint of one article: everything the duplicate decision looks at.

:func:`fingerprint` turns a title, a body and the identifiers a feed gave
(link, guid, feed URL) into :class:`Features`. It is a pure function of its
inputs and the :class:`~monitor.dedup.signature.SignatureScheme`, so a stored
article's features can always be recomputed from its stored text. The store keeps
its lookup keys (:attr:`Features.keys`) and, packed, what a comparison reads of it
(:mod:`monitor.dedup.packed`), so that is seldom needed.
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import filterfalse, islice
from urllib.parse import urlsplit

from monitor.dedup import signature as sig
from monitor.dedup.keys import guid_key
from monitor.dedup.scheme import V1, SignatureScheme
from monitor.dedup.text import (
    PreparedText,
    content_words,
    facts,
    prepare,
    text_hash,
    title_tokens,
)
from monitor.parse.urls import canonical_url, url_fragment
from monitor.types import Entry, quick_pickle

# How much of the body, with the headline, tells which event a text reports:
# the lead and a little more. Measured on ECB+ (bench/grouping.py), content
# words of the headline and the first 60 words separate same-event articles
# from same-topic ones better than the whole body or the headline alone.
STORY_LEAD_TOKENS = 60
# A headline of fewer content words than this ("AION", "Weekly update") names
# no story; it gets no word keys and is never grouped by its headline.
HEADLINE_MIN_WORDS = 3
# Word keys kept from the lead, in body order, besides the headline's.
_LEAD_WORD_KEYS = 16


@quick_pickle
@dataclass(frozen=True, slots=True, eq=False)
class Features:
    """What duplicate detection knows about one article."""

    doc_id: int | None
    """Id of the stored article; None for an incoming one."""
    canonical_url: str | None
    """The link's canonical form (see ``monitor.parse.urls``), if it has a link."""
    url_fragment: str
    """The link's fragment: items of one page told apart by ``#anchor``."""
    url_is_specific: bool
    """False for links to a site's root, which many items may share."""
    guid_key: str | None
    """The guid, scoped by feed unless it is globally unique (a URL, a tag: URI)."""
    title: str
    """The headline as given."""
    title_words: frozenset[str]
    """The headline's content words."""
    token_count: int
    """How many comparison tokens the cleaned body has."""
    text_hash: str | None
    """Hash of the cleaned, folded body; None for an empty body."""
    shingles: frozenset[int]
    """Hashes of the body's word shingles."""
    shingle_order: tuple[int, ...]
    """The same hashes in body order, repeats included (to find the body's head)."""
    lead_shingles: frozenset[int]
    """Hashes of the lead's shingles (the first sentence or two)."""
    facts: frozenset[str]
    """Numbers, weekdays and months in the body."""
    exact_keys: tuple[int, ...]
    """Keys of the canonical URL, the guid and the text hash (those present)."""
    opening_keys: tuple[int, ...]
    """Keys of the first words of the opening sentences: strong, specific evidence."""
    band_keys: tuple[int, ...]
    """MinHash LSH band keys of the body and of the lead: many, each weak alone."""
    story_words: frozenset[str] = frozenset()
    """Content words of the headline and of the body's first ``STORY_LEAD_TOKENS`` tokens."""
    story_keys: tuple[int, ...] = ()
    """Keys of single content words of the headline and the lead: how an article told in
    other words, or a bare headline, finds its story."""
    word_vector: Mapping[str, float] = field(default_factory=dict)
    """The body's content words, each weighted by 1 + log of its count, scaled to unit
    length: what the whole text is about, for :func:`cosine`."""
    name_words: frozenset[str] = frozenset()
    """Words of the body's first ``STORY_LEAD_TOKENS`` written as names (capitalised
    inside a sentence): who and where, as opposed to what happened."""
    published: datetime | None = None
    """When the article appeared (else when it was first seen), if known."""
    feed: str | None = None
    """The canonical URL of the feed that carried it, if known."""

    @property
    def keys(self) -> tuple[int, ...]:
        """Every key to store for this article."""
        return self.exact_keys + self.opening_keys + self.band_keys + self.story_keys


def fingerprint(
    title: str,
    text: str,
    link: str | None = None,
    guid: str | None = None,
    feed_url: str | None = None,
    doc_id: int | None = None,
    scheme: SignatureScheme = V1,
    keys: bool = True,
    published: datetime | None = None,
    source: str | None = None,
) -> Features:
    """The features of one article (see the module docstring).

    With ``keys=False`` no lookup keys are computed (they are empty): enough to
    compare a stored candidate, and half the work.
    """
    draft = _draft(title, text, link, guid, feed_url, source, scheme)
    shingle_array = sig.shingle_hashes(draft.words, scheme.shingle_size)
    bands = (
        sig.lsh_keys(shingle_array, draft.lead_count(len(shingle_array)), scheme) if keys else ()
    )
    return _features(draft, shingle_array, bands, scheme, keys, doc_id, published, feed_url)


def fingerprints(articles: Sequence[Article], scheme: SignatureScheme = V1) -> list[Features]:
    """:func:`fingerprint` (with keys) of each of ``articles``, the same values,
    with the hashing of a batch of them done in one pass of each array operation
    instead of one per article: most of an article's shingle and MinHash time is
    the fixed cost of each numpy call, not the arithmetic."""
    drafts = [
        _draft(a.title, a.text, a.link, a.guid, a.feed_url, a.source, scheme) for a in articles
    ]
    found: list[Features] = []
    for batch in _batches(drafts):
        arrays = sig.shingle_hashes_many([draft.words for draft in batch], scheme.shingle_size)
        leads = [draft.lead_count(len(array)) for draft, array in zip(batch, arrays, strict=True)]
        batch_bands = sig.lsh_keys_many(arrays, leads, scheme)
        done = len(found)
        for draft, array, bands, article in zip(
            batch, arrays, batch_bands, articles[done : done + len(batch)], strict=True
        ):
            found.append(
                _features(
                    draft,
                    array,
                    bands,
                    scheme,
                    True,
                    article.doc_id,
                    article.published,
                    article.feed_url,
                )
            )
    return found


@dataclass(frozen=True, slots=True)
class Article:
    """The arguments of :func:`fingerprint` for one article, for :func:`fingerprints`."""

    title: str
    text: str
    link: str | None = None
    guid: str | None = None
    feed_url: str | None = None
    doc_id: int | None = None
    published: datetime | None = None
    source: str | None = None

    @classmethod
    def of(cls, entry: Entry, doc_id: int | None = None) -> Article:
        """What :func:`fingerprint_entry` takes of a parsed entry."""
        return cls(
            entry.title,
            entry.text,
            entry.link or entry.canonical_link,
            entry.guid,
            entry.feed_url,
            doc_id,
            entry.published,
            entry.feed_name,
        )


# Tokens of one batch of :func:`fingerprints`: bounds its arrays (the MinHash matrix
# is 60 values of 8 bytes per shingle, about 4 MB at this size). A longer article
# makes a batch of its own, as :func:`fingerprint` would.
_BATCH_TOKENS = 8192


def _batches(drafts: list[_Draft]) -> Iterator[list[_Draft]]:
    batch: list[_Draft] = []
    size = 0
    for draft in drafts:
        if batch and size + len(draft.words) > _BATCH_TOKENS:
            yield batch
            batch, size = [], 0
        batch.append(draft)
        size += len(draft.words)
    if batch:
        yield batch


@dataclass(frozen=True, slots=True)
class _Draft:
    """The text work of one fingerprint, before any shingle is hashed."""

    prepared: PreparedText
    title: str
    link: str | None
    canonical: str | None
    specific: bool
    gkey: str | None
    headline: frozenset[str]
    headline_content: frozenset[str]
    lead_words: tuple[str, ...]
    lead_content: frozenset[str]
    shingle_size: int

    @property
    def words(self) -> tuple[str, ...]:
        return self.prepared.tokens

    def lead_count(self, shingle_count: int) -> int:
        """How many shingles lie wholly inside the lead (or the lead's one short shingle)."""
        if not self.prepared.lead_length:
            return 0
        return min(max(self.prepared.lead_length - self.shingle_size + 1, 1), shingle_count)


def _draft(
    title: str,
    text: str,
    link: str | None,
    guid: str | None,
    feed_url: str | None,
    source: str | None,
    scheme: SignatureScheme,
) -> _Draft:
    prepared = prepare(
        text,
        scheme.lead_min_tokens,
        scheme.lead_max_tokens,
        scheme.opening_sentences,
        scheme.opening_tokens,
        STORY_LEAD_TOKENS,
    )
    canonical = canonical_url(link) if link and link.strip() else None
    headline = title_tokens(title, source)
    lead_words = prepared.tokens[:STORY_LEAD_TOKENS]
    return _Draft(
        prepared=prepared,
        title=title,
        link=link,
        canonical=canonical,
        specific=canonical is not None and urlsplit(canonical).path not in ("", "/"),
        gkey=guid_key(guid, feed_url),
        headline=headline,
        headline_content=content_words(headline),
        lead_words=lead_words,
        lead_content=content_words(lead_words),
        shingle_size=scheme.shingle_size,
    )


def _features(
    draft: _Draft,
    shingle_array: sig.U64,
    bands: tuple[int, ...],
    scheme: SignatureScheme,
    keys: bool,
    doc_id: int | None,
    published: datetime | None,
    feed_url: str | None,
) -> Features:
    words = draft.words
    link = draft.link
    canonical = draft.canonical
    gkey = draft.gkey
    lead_count = draft.lead_count(len(shingle_array))
    digest = text_hash(words) if words else None
    order = tuple(shingle_array.tolist())
    exact: list[int] = []
    opening: tuple[int, ...] = ()
    story: tuple[int, ...] = ()
    if keys:
        if canonical is not None and draft.specific:
            exact.append(sig.exact_key(b"U", canonical, scheme.version))
        if gkey is not None:
            exact.append(sig.exact_key(b"G", gkey, scheme.version))
        if digest is not None:
            exact.append(sig.exact_key(b"T", digest, scheme.version))
        opening = tuple(
            dict.fromkeys(
                sig.exact_key(b"S", " ".join(sentence[: scheme.opening_tokens]), scheme.version)
                for sentence in draft.prepared.opening
            )
        )
        story = _story_keys(
            draft.headline_content, draft.lead_words, draft.lead_content, scheme.version
        )

    return Features(
        doc_id=doc_id,
        canonical_url=canonical,
        # No "#", no fragment: urlsplit looks no further.
        url_fragment=url_fragment(link) if link and "#" in link else "",
        url_is_specific=draft.specific,
        guid_key=gkey,
        title=draft.title,
        title_words=draft.headline,
        token_count=len(words),
        text_hash=digest,
        shingles=frozenset(order),
        shingle_order=order,
        lead_shingles=frozenset(order[:lead_count]),
        facts=facts(words),
        exact_keys=tuple(exact),
        opening_keys=opening,
        band_keys=bands,
        story_words=draft.headline_content | draft.lead_content,
        story_keys=story,
        word_vector=_word_vector(words),
        name_words=draft.prepared.names,
        published=published,
        feed=canonical_url(feed_url) if feed_url else None,
    )


def _word_vector(words: tuple[str, ...]) -> dict[str, float]:
    counts = Counter(words)
    kept = content_words(counts)
    # In the order words first occur: cosine() sums in this order, so it is kept.
    weights = {
        word: _WEIGHTS[count] if count < _WEIGHT_TABLE else 1.0 + math.log(count)
        for word, count in counts.items()
        if word in kept
    }
    values = weights.values()
    # The same squares summed in the same order as a generator would give them.
    norm = math.sqrt(sum(map(operator.mul, values, values)))
    return {word: weight / norm for word, weight in weights.items()} if norm else {}


# 1 + log(count) for the small counts nearly every word has: the same floats, looked up.
_WEIGHT_TABLE = 64
_WEIGHTS = (0.0, *(1.0 + math.log(count) for count in range(1, _WEIGHT_TABLE)))


def cosine(a: Features, b: Features) -> float:
    """Cosine similarity of two bodies' word vectors: 0 (no word shared) to 1."""
    small, large = sorted((a.word_vector, b.word_vector), key=len)
    return sum(weight * large.get(word, 0.0) for word, weight in small.items())


def _story_keys(
    headline: frozenset[str], lead_words: tuple[str, ...], lead: frozenset[str], version: str
) -> tuple[int, ...]:
    """Keys of the headline's content words (``headline``, sorted) and of the lead's
    (``lead``, the content words of ``lead_words``), in the lead's order."""
    chosen = dict.fromkeys(sorted(headline))
    if len(chosen) < HEADLINE_MIN_WORDS:
        chosen.clear()
    # The first _LEAD_WORD_KEYS content words of the lead not chosen yet, in the lead's
    # order, each once: a chain of C iterators instead of a loop over the lead's words.
    candidates = dict.fromkeys(filter(lead.__contains__, lead_words))
    chosen.update(
        dict.fromkeys(islice(filterfalse(chosen.__contains__, candidates), _LEAD_WORD_KEYS))
    )
    return tuple(map(_word_keys(version), chosen))


@lru_cache(maxsize=4)
def _word_keys(version: str) -> Callable[[str], int]:
    """The key of a story word, cached: news vocabulary is Zipfian, most story words were
    keyed for an earlier item (one cache per version, so the word alone is the key)."""

    @lru_cache(maxsize=1 << 16)
    def word_key(word: str) -> int:
        return sig.exact_key(b"W", word, version)

    return word_key


def fingerprint_entry(
    entry: Entry, doc_id: int | None = None, scheme: SignatureScheme = V1
) -> Features:
    """The features of a parsed feed entry (title, summary + content, link, guid)."""
    return fingerprints([Article.of(entry, doc_id)], scheme)[0]


def fingerprint_entries(entries: Sequence[Entry], scheme: SignatureScheme = V1) -> list[Features]:
    """:func:`fingerprint_entry` of each of ``entries`` (the same values), in batches
    (:func:`fingerprints`): what a parser worker runs on a feed's items."""
    return fingerprints([Article.of(entry) for entry in entries], scheme)


def features_to_json(features: Features) -> dict[str, object]:
    """A JSON-able form of ``features`` without the text: hashes, counts, the headline.

    This is what ships for baseline articles whose text the project may not
    hold: shingle hashes cannot be turned back into the words.
    """
    return {
        "canonical_url": features.canonical_url,
        "url_fragment": features.url_fragment,
        "url_is_specific": features.url_is_specific,
        "guid_key": features.guid_key,
        "title": features.title,
        "title_words": sorted(features.title_words),
        "token_count": features.token_count,
        "text_hash": features.text_hash,
        "shingle_order": list(features.shingle_order),
        "lead_shingles": sorted(features.lead_shingles),
        "facts": sorted(features.facts),
        "exact_keys": list(features.exact_keys),
        "opening_keys": list(features.opening_keys),
        "band_keys": list(features.band_keys),
    }


def features_from_json(data: dict[str, object], doc_id: int | None = None) -> Features:
    """The inverse of :func:`features_to_json`."""

    def ints(key: str) -> tuple[int, ...]:
        value = data.get(key) or []
        assert isinstance(value, list)
        return tuple(int(v) for v in value)

    def strings(key: str) -> frozenset[str]:
        value = data.get(key) or []
        assert isinstance(value, list)
        return frozenset(str(v) for v in value)

    order = ints("shingle_order")
    title_words = strings("title_words")
    canonical = data.get("canonical_url")
    gkey = data.get("guid_key")
    digest = data.get("text_hash")
    return Features(
        doc_id=doc_id,
        canonical_url=str(canonical) if canonical else None,
        url_fragment=str(data.get("url_fragment") or ""),
        url_is_specific=bool(data.get("url_is_specific")),
        guid_key=str(gkey) if gkey else None,
        title=str(data.get("title") or ""),
        title_words=title_words,
        token_count=int(str(data.get("token_count") or 0)),
        text_hash=str(digest) if digest else None,
        shingles=frozenset(order),
        shingle_order=order,
        lead_shingles=frozenset(ints("lead_shingles")),
        facts=strings("facts"),
        exact_keys=ints("exact_keys"),
        opening_keys=ints("opening_keys"),
        band_keys=ints("band_keys"),
        story_words=content_words(title_words),
    )
