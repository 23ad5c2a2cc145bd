"""Bounded Content-Encoding decoding and the unchanged-body hash."""

from __future__ import annotations

import gzip
import zlib

import pytest

from monitor.fetch.decode import BodyTooLarge, BoundedDecoder, Codings, DecodeError
from monitor.fetch.unchanged import body_hash, is_unchanged

BODY = b"<rss>" + b"news item " * 20_000 + b"</rss>"


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def decode(header: str | None, data: bytes, limit: int = 10_000_000, step: int = 1000) -> bytes:
    decoder = BoundedDecoder(Codings.parse(header, 2), limit)
    for start in range(0, len(data), step):
        decoder.feed(data[start : start + step])
    decoder.close()
    return decoder.body


@pytest.mark.parametrize(
    ("header", "data"),
    [
        (None, BODY),
        ("identity", BODY),
        ("gzip", gzip.compress(BODY)),
        ("x-gzip", gzip.compress(BODY)),
        ("deflate", zlib.compress(BODY)),
        ("deflate", raw_deflate(BODY)),  # raw deflate, as some servers send it
        ("gzip, gzip", gzip.compress(gzip.compress(BODY))),
        ("deflate, gzip", gzip.compress(zlib.compress(BODY))),
    ],
)
def test_codings_decode(header: str | None, data: bytes) -> None:
    assert decode(header, data) == BODY


def test_cap_counts_decoded_bytes() -> None:
    with pytest.raises(BodyTooLarge):
        decode("gzip", gzip.compress(BODY), limit=len(BODY) - 1)
    assert decode("gzip", gzip.compress(BODY), limit=len(BODY)) == BODY


def test_a_stacked_bomb_stops_at_the_cap_in_one_small_chunk() -> None:
    bomb = gzip.compress(gzip.compress(b"\0" * 100_000_000))
    assert len(bomb) < 1000
    decoder = BoundedDecoder(Codings.parse("gzip, gzip", 2), 1_000_000)
    with pytest.raises(BodyTooLarge):
        decoder.feed(bomb)  # all of it at once: still never inflated past the cap
    assert len(decoder.body) <= 1_000_000


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("br", "unsupported Content-Encoding 'br'"),
        ("gzip, gzip, gzip", "3 stacked Content-Encodings"),
    ],
)
def test_refused_codings(header: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        Codings.parse(header, 2)


def test_corrupt_and_truncated_streams() -> None:
    with pytest.raises(DecodeError, match="corrupt gzip"):
        decode("gzip", b"\x1f\x8b\x08\x00garbage-garbage")
    with pytest.raises(DecodeError, match="truncated gzip"):
        decode("gzip", gzip.compress(BODY)[:200])


def test_body_hash() -> None:
    assert body_hash(BODY) == body_hash(bytes(BODY))
    assert body_hash(BODY).startswith("sha256:")
    assert len(body_hash(BODY)) == 71
    assert body_hash(BODY) != body_hash(BODY + b" ")
    assert is_unchanged(BODY, body_hash(BODY))
    assert not is_unchanged(BODY, None)
    assert not is_unchanged(BODY + b"x", body_hash(BODY))


def test_discard_frees_what_was_decoded() -> None:
    decoder = BoundedDecoder(Codings.parse("gzip", 2), 10_000_000)
    decoder.feed(gzip.compress(BODY))
    assert decoder.body
    decoder.discard()
    assert decoder.body == b""
