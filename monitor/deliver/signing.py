"""Standard Webhooks signing keys and signatures (no I/O, no config)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"
MIN_KEY_BYTES = 16  # the spec recommends 24-64 random bytes; below 16 is guessable


def decode_secret(secret: str) -> bytes:
    """The signing key: base64 after an optional ``whsec_`` prefix.

    Raises ValueError with a message fit for a config error.
    """
    raw = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(
            "webhook secret must be base64, optionally prefixed whsec_ "
            "(make one with: python -c \"import secrets,base64;print('whsec_'+base64.b64encode(secrets.token_bytes(32)).decode())\")"
        ) from exc
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"webhook secret must decode to at least {MIN_KEY_BYTES} bytes")
    return key


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value: ``v1,`` + base64 HMAC-SHA256."""
    signed = message_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
