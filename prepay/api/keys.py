"""API key format and hashing: ``pp_<prefix>_<secret>``; only the prefix and a salted hash are kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "pp_"


def new_key() -> tuple[str, str, str, str]:
    """A fresh key: (full key to show once, prefix, salt, hash)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    return f"{KEY_PREFIX}{prefix}_{secret}", prefix, salt, hash_secret(salt, secret)


def hash_secret(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    if not key.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = key[len(KEY_PREFIX) :].partition("_")
    if not sep or len(prefix) != 12 or not secret:
        return None
    return prefix, secret


def matches(salt: str, stored_hash: str, secret: str) -> bool:
    """Constant-time comparison of ``secret`` with the stored hash."""
    return hmac.compare_digest(hash_secret(salt, secret), stored_hash)
