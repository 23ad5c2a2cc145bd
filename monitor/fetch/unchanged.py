"""Unchanged-body detection: skip parsing a feed whose bytes did not change.

Many servers ignore conditional GET (no ETag, or a fresh one on every
request) yet serve the same bytes for hours. Hashing the decoded body costs
about a millisecond per megabyte; parsing it costs far more. The pipeline
stores :func:`body_hash` per feed and skips the parse when the next body
hashes the same.

SHA-256 rather than a faster non-cryptographic hash: a publisher must not be
able to craft a changed feed that hashes like the stored one and so hide new
items.
"""

from __future__ import annotations

import hashlib

HASH_PREFIX = "sha256:"


def body_hash(content: bytes) -> str:
    """A short text fingerprint of a feed body, e.g. ``sha256:9f86d0…`` (71 characters)."""
    return HASH_PREFIX + hashlib.sha256(content).hexdigest()


def is_unchanged(content: bytes, stored_hash: str | None) -> bool:
    """True when ``content`` is the body that produced ``stored_hash``."""
    return stored_hash is not None and body_hash(content) == stored_hash
