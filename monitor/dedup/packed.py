"""A stored article's comparison features, packed into bytes kept beside its text.

A duplicate lookup compares the incoming article with up to two dozen stored
candidates, and each candidate's features (:class:`~monitor.dedup.features.Features`)
used to be worked out again from its stored text: cleaning, tokens, shingle hashes, word
vector, about 0.3 ms an article of a few hundred words. A new article's lookup ends with
the story stage's dozen candidates, which made it the slow end of every lookup
(``bench/dedup.py``). The features an entry was fingerprinted with when it was stored are
therefore kept with it, packed by :func:`pack` in the parser worker that fingerprinted it;
:func:`unpack` reads them back in about a seventh of the time (0.04 ms against 0.26 ms for
``bench/dedup.py``'s articles of about 300 words).

What is packed is what a stored candidate is compared by, exactly as the pipeline had it
when it stored the entry: the same values the feature cache keeps
(:func:`monitor.dedup.cache.compact`), so a decision against an unpacked candidate is the
one made against a cached one. That is what the parser worker fingerprinted, which is not
always what the stored text gives: the feed's boilerplate blanked out, a link shared by
several items left out, a headline's " - Publisher" suffix cut when it is the feed's name
(:mod:`monitor.prepare`). Before, only a cached candidate was compared so; one read from
the store was fingerprinted from its whole stored text. On the 200 real feeds, every entry
looked up in the whole archive with no cache, the decisions were the same either way. The
lookup keys are not packed (a candidate is compared, never looked up with its own keys),
nor the fields the store keeps in the entry's row anyway: its id, headline and date are
the row's.

The layout, little-endian::

    format (1 byte) | scheme tag length (1 byte) | scheme tag (ASCII, every parameter)
    | CRC-32 of everything after it (uint32)
    | counts (8 × uint32): tokens, shingles, lead length, vector words,
                           title words, story words, name words, facts
    | flags (1 byte): bit 0, the URL is specific
    | text hash (16 bytes, zero when the body is empty, as a token count of 0 says)
    | shingle hashes in body order (uint64 each) | vector weights (float64 each)
    | strings, UTF-8, NUL-separated: canonical URL, URL fragment, guid key, feed,
      vector words, title words, story words, name words, facts

The lead shingles are the set of the first ``lead length`` hashes of the body's order; a
missing URL, guid or feed is an empty string (a present one never is: :func:`pack` refuses
one that is). Features that cannot be packed so (a string holding a NUL or a lone
surrogate, a lead that is not a head of the body, a text hash that is not lower-case hex, a
hash outside 64 bits) are not packed: the entry is then fingerprinted from its text when it
comes up. Bytes that do not unpack (another format, another scheme, a truncated or damaged
row, by its CRC) are treated the same way: never an error, only the old cost.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Collection
from datetime import datetime

import numpy as np

from monitor.dedup.features import Features

FORMAT = 1
"""The layout above and the fingerprint code it was packed by: bytes of any other format are
not unpacked. Raised when the layout changes, and when what
:func:`~monitor.dedup.features.fingerprint` computes changes (a digest pinned by
``tests/dedup/test_fingerprint_pinned.py`` moves): stored bytes would otherwise keep the old
values while the text gives new ones."""

_CHECK = struct.Struct("<I")
_COUNTS = struct.Struct("<8IB")
_HASH_BYTES = 16
_NUL = "\x00"
_SCALARS = 4  # canonical URL, fragment, guid key, feed


def pack(features: Features, scheme: str) -> bytes | None:
    """``features``, fingerprinted by the scheme tagged ``scheme``
    (:attr:`~monitor.dedup.scheme.SignatureScheme.tag`), as bytes (see the module
    docstring); None when they cannot be packed so."""
    try:
        return _pack(features, scheme)
    except (UnicodeEncodeError, OverflowError, struct.error, ValueError):
        return None


def _pack(features: Features, scheme: str) -> bytes | None:
    if not scheme.isascii() or len(scheme) > 255:
        return None
    version = scheme.encode("ascii")
    scalars = (features.canonical_url, features.url_fragment, features.guid_key, features.feed)
    if any(value == "" for value in (features.canonical_url, features.guid_key, features.feed)):
        return None
    vector = features.word_vector
    lists: tuple[Collection[str], ...] = (
        vector,
        features.title_words,
        features.story_words,
        features.name_words,
        features.facts,
    )
    text = _NUL.join(
        [*(value or "" for value in scalars), *(word for part in lists for word in part)]
    )
    if text.count(_NUL) != _SCALARS - 1 + sum(map(len, lists)):
        return None  # a NUL inside a string would shift every one after it
    order = features.shingle_order
    if order and (min(order) < 0 or max(order) >= 1 << 64):
        return None  # numpy would refuse it, or an older one wrap it round
    lead = _lead_length(order, features.lead_shingles)
    if lead is None:
        return None
    if (features.text_hash is None) != (features.token_count == 0):
        return None  # unpack tells an empty body by its token count
    digest = bytes.fromhex(features.text_hash) if features.text_hash else bytes(_HASH_BYTES)
    if len(digest) != _HASH_BYTES or (features.text_hash or digest.hex()) != digest.hex():
        return None  # not a digest in lower-case hex, which unpack gives back
    body = b"".join(
        (
            _COUNTS.pack(
                features.token_count,
                len(order),
                lead,
                len(vector),
                len(features.title_words),
                len(features.story_words),
                len(features.name_words),
                len(features.facts),
                1 if features.url_is_specific else 0,
            ),
            digest,
            np.asarray(order, dtype="<u8").tobytes(),
            np.fromiter(vector.values(), dtype="<f8", count=len(vector)).tobytes(),
            text.encode("utf-8"),
        )
    )
    head = bytes((FORMAT, len(version))) + version
    return head + _CHECK.pack(zlib.crc32(body)) + body


def _lead_length(order: tuple[int, ...], lead: frozenset[int]) -> int | None:
    """The shortest head of ``order`` holding exactly the ``lead`` shingles (a lead may
    repeat a shingle, so its set can be smaller than its length), or None when no head
    does."""
    missing = set(lead)
    length = 0
    while missing and length < len(order):
        missing.discard(order[length])
        length += 1
    if missing or frozenset(order[:length]) != lead:
        return None
    return length


def unpack(
    data: bytes,
    scheme: str,
    doc_id: int,
    title: str,
    published: datetime | None,
) -> Features | None:
    """The features :func:`pack` packed, under ``doc_id`` with the stored ``title`` and
    ``published``; None when ``data`` is of another format or scheme, or damaged."""
    try:
        return _unpack(memoryview(data), scheme, doc_id, title, published)
    except (ValueError, IndexError, struct.error, UnicodeDecodeError):
        return None


def _unpack(
    data: memoryview,
    scheme: str,
    doc_id: int,
    title: str,
    published: datetime | None,
) -> Features | None:
    if len(data) < 2 or data[0] != FORMAT:
        return None
    end = 2 + data[1]
    if bytes(data[2:end]).decode("ascii") != scheme:
        return None
    (check,) = _CHECK.unpack_from(data, end)
    end += _CHECK.size
    if zlib.crc32(data[end:]) != check:
        return None
    (tokens, shingles, lead, words, titles, story, names, facts, flags) = _COUNTS.unpack_from(
        data, end
    )
    at = end + _COUNTS.size
    digest = bytes(data[at : at + _HASH_BYTES])
    at += _HASH_BYTES
    order = tuple(np.frombuffer(data, dtype="<u8", count=shingles, offset=at).tolist())
    at += 8 * shingles
    weights = np.frombuffer(data, dtype="<f8", count=words, offset=at).tolist()
    at += 8 * words
    strings = bytes(data[at:]).decode("utf-8").split(_NUL)
    if len(strings) != _SCALARS + words + titles + story + names + facts or lead > shingles:
        return None
    canonical, fragment, guid, feed = strings[:_SCALARS]
    at = _SCALARS
    vector_words = strings[at : at + words]
    at += words
    title_words = frozenset(strings[at : at + titles])
    at += titles
    story_words = frozenset(strings[at : at + story])
    at += story
    name_words = frozenset(strings[at : at + names])
    at += names
    return Features(
        doc_id=doc_id,
        canonical_url=canonical or None,
        url_fragment=fragment,
        url_is_specific=bool(flags & 1),
        guid_key=guid or None,
        title=title,
        title_words=title_words,
        token_count=tokens,
        text_hash=digest.hex() if tokens else None,
        shingles=frozenset(order),
        shingle_order=order,
        lead_shingles=frozenset(order[:lead]),
        facts=frozenset(strings[at : at + facts]),
        exact_keys=(),
        opening_keys=(),
        band_keys=(),
        story_words=story_words,
        word_vector=dict(zip(vector_words, weights, strict=True)),
        name_words=name_words,
        published=published,
        feed=feed or None,
    )
