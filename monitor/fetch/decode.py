"""Content-Encoding decoding with a hard cap on what comes out.

httpx decodes a response one network chunk at a time, but each chunk in full:
a 64 KB chunk of a deflate stream may inflate to 64 MB, and with two stacked
encodings (``Content-Encoding: gzip, gzip``) to tens of gigabytes, before any
size check of ours runs. So the client reads the *raw* bytes and decodes them
here, where every zlib call is asked for at most ``step`` bytes
(``max_length``), every layer's output is counted, and decoding stops as soon
as the decoded body passes the cap. Memory stays at a few steps per layer
whatever the compression ratio.

Supported codings: ``identity``, ``gzip`` / ``x-gzip`` and ``deflate`` (zlib
wrapped, or raw as some servers send it). Anything else is refused, so the
request advertises exactly these in ``Accept-Encoding``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

ACCEPT_ENCODING = "gzip, deflate"

_STEP = 64 * 1024  # bytes asked of zlib per call: bounds the memory of one decode step


class DecodeError(Exception):
    """The body cannot be decoded (unknown coding, corrupt stream)."""


class BodyTooLarge(Exception):
    """The decoded body passed the cap; ``limit`` is that cap."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"decoded body larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Codings:
    """The codings of a response, in the order they must be undone."""

    names: tuple[str, ...]

    @classmethod
    def parse(cls, header: str | None, max_layers: int) -> Codings:
        """From a ``Content-Encoding`` header (applied left to right, so undone right to left)."""
        names = [name.strip().lower() for name in (header or "").split(",") if name.strip()]
        names = [name for name in names if name != "identity"]
        for name in names:
            if name not in ("gzip", "x-gzip", "deflate"):
                raise DecodeError(f"unsupported Content-Encoding {name!r}")
        if len(names) > max_layers:
            raise DecodeError(
                f"{len(names)} stacked Content-Encodings (fetch.max_content_encodings is {max_layers})"
            )
        return cls(tuple(reversed(names)))


class _Layer:
    """One decompressor, pulled at most ``_STEP`` bytes at a time."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._started = False
        self._obj = self._new(raw=False)

    def _new(self, raw: bool) -> zlib._Decompress:
        if self.name in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """Decode ``data`` lazily, in pieces of at most ``_STEP`` bytes.

        A generator, so a consumer that stops (the cap was reached) stops the
        inflating too: nothing past the next step is ever produced.
        """
        if not data or self._obj.eof:
            return  # trailing garbage after the stream end is ignored, as browsers do
        if not self._started:
            self._started = True
            # "deflate" is zlib-wrapped by the spec but raw on some servers. A zlib
            # header has compression method 8 in the low nibble of its first byte
            # and makes the first two bytes a multiple of 31.
            if self.name == "deflate" and not _zlib_header(data):
                self._obj = self._new(raw=True)
        try:
            chunk = self._obj.decompress(data, _STEP)
            while True:
                if chunk:
                    yield chunk
                tail = self._obj.unconsumed_tail
                if not tail or self._obj.eof:
                    return
                chunk = self._obj.decompress(tail, _STEP)
        except zlib.error as exc:
            raise DecodeError(f"corrupt {self.name} stream: {exc}") from exc

    def finish(self) -> Iterator[bytes]:
        if not self._started:
            return
        try:
            # All input went through decompress() with max_length until nothing
            # was left unconsumed, so flush() returns at most what zlib buffered.
            rest = self._obj.flush()
        except zlib.error as exc:  # pragma: no cover - flush rarely raises
            raise DecodeError(f"corrupt {self.name} stream: {exc}") from exc
        if not self._obj.eof:
            raise DecodeError(f"truncated {self.name} stream")
        if rest:
            yield rest


def _zlib_header(data: bytes) -> bool:
    if data[0] & 0x0F != 8:
        return False
    return len(data) < 2 or (data[0] * 256 + data[1]) % 31 == 0


class BoundedDecoder:
    """Feeds raw body bytes through the codings; raises :class:`BodyTooLarge` past ``limit``.

    Every layer's output is capped by ``limit`` too: an intermediate stream
    bigger than the cap on the final body is a bomb in the making.
    """

    def __init__(self, codings: Codings, limit: int) -> None:
        self.limit = limit
        self._layers = [_Layer(name) for name in codings.names]
        self._counts = [0] * len(self._layers)
        self._out = bytearray()

    @property
    def body(self) -> bytes:
        return bytes(self._out)

    @property
    def size(self) -> int:
        """Bytes decoded and held so far."""
        return len(self._out)

    def discard(self) -> None:
        """Free what was decoded so far (an error's traceback would otherwise pin it)."""
        self._out = bytearray()
        self._layers = []

    def feed(self, raw: bytes) -> None:
        self._push(0, raw)

    def close(self) -> None:
        for index, layer in enumerate(self._layers):
            for piece in layer.finish():
                self._push(index + 1, piece)

    def _push(self, index: int, piece: bytes) -> None:
        """Hand ``piece`` (output of layer ``index - 1``) to layer ``index``."""
        if index == len(self._layers):
            if len(self._out) + len(piece) > self.limit:
                raise BodyTooLarge(self.limit)
            self._out += piece
            return
        layer = self._layers[index]
        for out in layer.pieces(piece):
            self._counts[index] += len(out)
            if self._counts[index] > self.limit:
                raise BodyTooLarge(self.limit)
            self._push(index + 1, out)
