"""Shingles, MinHash signatures and the lookup keys derived from them.

Everything here is part of what gets *stored*: the keys written to the index
today must be computed identically by every process and every later release,
or stored articles silently stop matching. So nothing depends on Python's
``hash()`` (salted per process), on numpy's random generators, or on a third
party's defaults. The whole scheme is written down here and pinned by golden
values in the tests; changing any of it means a new ``SignatureScheme.version``
and re-indexing (the store keeps :attr:`SignatureScheme.tag` to notice).

The scheme, version ``v1``:

* **Token hash** ``t(w)``: the first 8 bytes, little-endian, of
  ``blake2b(w.encode("utf-8"), digest_size=8, person=b"monitor-dedup-tk")``.
* **Shingle hash** over ``k`` consecutive tokens ``w_i … w_{i+k-1}`` (word
  shingles, ``k = 5``): ``h = mix(t(w_i))``, then ``h = mix(h XOR t(w_{i+j}))``
  for ``j = 1 … k-1``, where ``mix`` is the SplitMix64 finaliser (below), all
  arithmetic modulo 2**64. Order matters ("tariffs on Canada" ≠ "Canada on
  tariffs"). A text shorter than ``k`` tokens is one shingle of all of them.
* **Permutations** ``p = 0 … n-1``: ``a_p`` is the little-endian integer of
  ``blake2b(f"{version}:a:{p}", digest_size=8, person=b"monitor-dedup-mh")``
  with its lowest bit set (odd, so ``x -> a_p x + b_p`` is a bijection), and
  ``b_p`` likewise from ``f"{version}:b:{p}"``.
* **MinHash** value ``p`` of a shingle set ``S``: ``min over s in S of
  (a_p * s + b_p) mod 2**64``. The shingle hashes are already well mixed, so
  this affine step suffices (checked in the tests: unbiased Jaccard estimates
  with binomial variance).
* **Band keys**: the signature is cut into bands of ``r`` values; band ``j``'s
  key is the signed 64-bit little-endian integer of ``blake2b(version + b"\\0"
  + kind + j (one byte) + the r values as 8-byte little-endian,
  digest_size=8, person=b"monitor-dedup-ky")``, ``kind`` being ``b"F"`` for
  the whole body and ``b"L"`` for the lead. Signed, so it fits SQL ``BIGINT``.
* **Exact keys** (canonical URL, guid, text hash, opening sentence): the same
  blake2b over ``version + b"\\0" + kind + value.encode("utf-8")`` with kinds
  ``b"U"``, ``b"G"``, ``b"T"``, and ``b"S"`` for the first ``opening_tokens``
  tokens of one opening sentence joined by single spaces.

Why two signatures: Jaccard over whole bodies finds copies of the same length
(syndicated, lightly edited), but a feed item that is a headline and two
sentences shares under a tenth of a 500-word article's shingles, far below
anything banding can find. It does share the article's *lead*, so the first
sentence or two get their own, smaller signature and bands.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import chain
from typing import cast

import numpy as np
import numpy.typing as npt

from monitor.dedup.scheme import MAX_BANDS as _MAX_BANDS
from monitor.dedup.scheme import SignatureScheme

U64 = npt.NDArray[np.uint64]

_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_SHIFT_30 = np.uint64(30)
_SHIFT_27 = np.uint64(27)
_SHIFT_31 = np.uint64(31)

# Token hashes are looked up once per token occurrence; news vocabulary is
# Zipfian, so a bounded cache absorbs almost all of them.
_TOKEN_CACHE_SIZE = 1 << 18
_KEY_PERSON = b"monitor-dedup-ky"


def _blake64(data: bytes, person: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, person=person).digest(), "little")


@lru_cache(maxsize=16)
def _band_keyed(version: str, kind: bytes) -> tuple[hashlib.blake2b, ...]:
    # _keyed with the band's index taken in as well, one hasher per band.
    hashers = []
    for band in range(_MAX_BANDS):
        hasher = _keyed(version, kind).copy()
        hasher.update(bytes([band]))
        hashers.append(hasher)
    return tuple(hashers)


@lru_cache(maxsize=64)
def _keyed(version: str, kind: bytes) -> hashlib.blake2b:
    # A hasher that has already taken in ``version + "\0" + kind``: copying it is
    # quicker than building one from keyword arguments, and BLAKE2 is a stream, so
    # the prefix hashed once and the rest added later give the same digest.
    return hashlib.blake2b(
        version.encode("utf-8") + b"\0" + kind, digest_size=8, person=_KEY_PERSON
    )


def token_hash(word: str) -> int:
    """The 64-bit hash of one token (see the module docstring)."""
    return int.from_bytes(_token_bytes(word), "little")


@lru_cache(maxsize=_TOKEN_CACHE_SIZE)
def _token_bytes(word: str) -> bytes:
    # The digest itself: a text's token hashes joined are read as one little-endian
    # array, much quicker than numpy converting a Python int per token.
    return hashlib.blake2b(word.encode("utf-8"), digest_size=8, person=b"monitor-dedup-tk").digest()


def _token_hashes(words: Iterable[str]) -> U64:
    return np.frombuffer(b"".join(map(_token_bytes, words)), dtype="<u8").astype(np.uint64)


def mix64(values: U64) -> U64:
    """SplitMix64's finaliser on every element (a bijection of 64-bit integers)."""
    z: U64 = values ^ (values >> _SHIFT_30)
    z = z * _MIX_1
    z = z ^ (z >> _SHIFT_27)
    z = z * _MIX_2
    return cast("U64", z ^ (z >> _SHIFT_31))


def shingle_hashes(words: tuple[str, ...] | list[str], size: int) -> U64:
    """Hashes of every ``size``-word shingle of ``words``, in order (with repeats)."""
    if not words:
        return np.zeros(0, dtype=np.uint64)
    hashed = _token_hashes(words)
    width = min(size, len(hashed))
    count = len(hashed) - width + 1
    result = mix64(hashed[:count])
    for offset in range(1, width):
        result = mix64(result ^ hashed[offset : offset + count])
    return result


def shingle_hashes_many(texts: Sequence[Sequence[str]], size: int) -> list[U64]:
    """:func:`shingle_hashes` of each of ``texts`` (the same values), computed over
    all of them at once.

    Round ``r`` over the texts laid end to end holds, at each position, the hash
    chained over that token and the ``r`` after it: the hashes of one text are a
    slice of the last round (of round ``n - 1`` for a text of ``n < size`` tokens).
    Positions whose chain runs into the next text are computed and not used.
    """
    hashed = _token_hashes(chain.from_iterable(texts))
    rounds = [mix64(hashed)]
    for offset in range(1, min(size, max((len(text) for text in texts), default=0))):
        rounds.append(mix64(rounds[-1][:-1] ^ hashed[offset:]))
    result: list[U64] = []
    start = 0
    for text in texts:
        count = len(text)
        if count == 0:
            result.append(np.zeros(0, dtype=np.uint64))
        elif count >= size:
            result.append(rounds[size - 1][start : start + count - size + 1])
        else:
            result.append(rounds[count - 1][start : start + 1])
        start += count
    return result


@lru_cache(maxsize=8)
def permutations(version: str, count: int) -> tuple[U64, U64]:
    """The ``(a, b)`` multipliers and offsets of the ``count`` permutations."""
    a = np.array(
        [_blake64(f"{version}:a:{p}".encode(), b"monitor-dedup-mh") | 1 for p in range(count)],
        dtype=np.uint64,
    )
    b = np.array(
        [_blake64(f"{version}:b:{p}".encode(), b"monitor-dedup-mh") for p in range(count)],
        dtype=np.uint64,
    )
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


def minhash_matrix(shingles: U64, scheme: SignatureScheme) -> U64:
    """Every permutation of every shingle: shape ``(len(shingles), num_perm)``."""
    a, b = permutations(scheme.version, scheme.num_perm)
    # Broadcasting with an in-place add: several times quicker than ufunc.outer.
    matrix: U64 = shingles[:, np.newaxis] * a
    matrix += b
    return matrix


def signature(shingles: U64, scheme: SignatureScheme, width: int | None = None) -> U64:
    """The MinHash signature (first ``width`` values) of a shingle array."""
    width = scheme.num_perm if width is None else width
    if len(shingles) == 0:
        return np.full(width, np.iinfo(np.uint64).max, dtype=np.uint64)
    matrix = minhash_matrix(shingles, scheme)[:, :width]
    result: U64 = matrix.min(axis=0)
    return result


def band_keys(sig: U64, kind: bytes, bands: int, rows: int, version: str) -> list[int]:
    """One signed 64-bit key per band of ``rows`` values of ``sig``."""
    return _band_keys(sig.astype("<u8").tobytes(), kind, bands, rows, version)


def _band_keys(raw: bytes, kind: bytes, bands: int, rows: int, version: str) -> list[int]:
    # band_keys of a signature already in little-endian bytes.
    prefixes = _band_keyed(version, kind)
    step = rows * 8
    keys: list[int] = []
    append = keys.append
    from_bytes = int.from_bytes
    for band in range(bands):
        hasher = prefixes[band].copy()
        hasher.update(raw[band * step : band * step + step])
        # Read as signed: the unsigned value minus 2**64 when its top bit is set.
        append(from_bytes(hasher.digest(), "little", signed=True))
    return keys


def exact_key(kind: bytes, value: str, version: str) -> int:
    """The signed 64-bit key of an exact identity (URL, guid, text hash)."""
    hasher = _keyed(version, kind).copy()
    hasher.update(value.encode("utf-8"))
    return int.from_bytes(hasher.digest(), "little", signed=True)


def lsh_keys_many(
    arrays: Sequence[U64], lead_counts: Sequence[int], scheme: SignatureScheme
) -> list[tuple[int, ...]]:
    """:func:`lsh_keys` of each shingle array with its lead count (the same keys), with
    one permutation matrix for all of them and each signature a segment minimum."""
    full_width = scheme.full_bands * scheme.full_rows
    lead_width = scheme.lead_bands * scheme.lead_rows
    present = [index for index, array in enumerate(arrays) if len(array)]
    result: list[tuple[int, ...]] = [() for _ in arrays]
    if not present:
        return result
    lengths = [len(arrays[index]) for index in present]
    starts = np.cumsum([0, *lengths[:-1]])
    matrix = minhash_matrix(np.concatenate([arrays[index] for index in present]), scheme)
    # Every segment is non-empty, so reduceat's minimum over [start, next start) is
    # each array's own minimum over its rows.
    fulls = np.minimum.reduceat(matrix[:, :full_width], starts, axis=0)
    # Each lead is a prefix of its array's segment: [start, start + lead). Laid out
    # as start, end, start, end..., the indices never decrease, so reduceat gives each
    # lead's minimum at an even place (the gaps' values at odd places are dropped).
    # An end at the matrix's last row is left out: reduceat then runs to the end,
    # the same rows; only the last lead can end there.
    owners = [index for index in present if lead_counts[index] > 0]
    bounds: list[int] = []
    for position, index in enumerate(present):
        if lead_counts[index] > 0:
            start = int(starts[position])
            bounds += (start, start + lead_counts[index])
    if bounds and bounds[-1] == len(matrix):
        bounds.pop()
    lead_values: dict[int, bytes] = {}
    if bounds:
        mins = np.minimum.reduceat(matrix[:, :lead_width], bounds, axis=0)
        lead_raw = mins.astype("<u8").tobytes()
        lead_size = lead_width * 8
        lead_values = {
            owner: lead_raw[2 * rank * lead_size : (2 * rank + 1) * lead_size]
            for rank, owner in enumerate(owners)
        }
    # Every signature's bytes at once; each one's keys from its slice.
    full_raw = fulls.astype("<u8").tobytes()
    full_size = full_width * 8
    for position, index in enumerate(present):
        keys = _band_keys(
            full_raw[position * full_size : (position + 1) * full_size],
            b"F",
            scheme.full_bands,
            scheme.full_rows,
            scheme.version,
        )
        if index in lead_values:
            keys += _band_keys(
                lead_values[index], b"L", scheme.lead_bands, scheme.lead_rows, scheme.version
            )
        result[index] = tuple(keys)
    return result


def lsh_keys(shingles: U64, lead_count: int, scheme: SignatureScheme) -> tuple[int, ...]:
    """Band keys of the whole body and of its lead (the first ``lead_count`` shingles).

    No keys for an empty body. One permutation matrix serves both signatures.
    """
    if len(shingles) == 0:
        return ()
    matrix = minhash_matrix(shingles, scheme)
    full_width = scheme.full_bands * scheme.full_rows
    lead_width = scheme.lead_bands * scheme.lead_rows
    full = matrix[:, :full_width].min(axis=0)
    keys = band_keys(full, b"F", scheme.full_bands, scheme.full_rows, scheme.version)
    if lead_count > 0:
        lead = matrix[:lead_count, :lead_width].min(axis=0)
        keys += band_keys(lead, b"L", scheme.lead_bands, scheme.lead_rows, scheme.version)
    return tuple(keys)
