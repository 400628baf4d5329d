"""The store key: the AES-256 key, kept outside the database, that encrypts every secret stored in it.

The vending keys and card master keys (:mod:`prepay.tokens.keystore`), the audit keys that seal the
audit chain (:mod:`prepay.audit.keys`) and payment providers' credentials are all encrypted with it.
It comes from ``PREPAY_KEY_FILE`` or, failing that, the ``PREPAY_STORE_KEY`` environment variable; on
a single PC without either, a key file is created once at ``<PREPAY_VAR_DIR>/store.key`` (mode 0600).

It sits in the bottom layer so that the audit chain can use it without importing the vending key
store; the key store says which store key it has loaded through :func:`register_loaded_key`.
Nothing here logs, prints or puts a key into an exception message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils.translation import gettext as _

from prepay.common.errors import ActionError


class KeyStoreError(ActionError):
    """The key store cannot serve the request (no key, wrong store key, tampered ciphertext)."""


class StoreKey:
    """The AES-256 key that encrypts vending keys. ``repr`` shows only its fingerprint."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise KeyStoreError(
                "bad_store_key", _("The store key must be 32 bytes (base64 in the key file).")
            )
        self._key = key

    def __repr__(self) -> str:
        return f"StoreKey(id={self.key_id})"

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"prepay-store-key" + self._key).hexdigest()[:16]

    def encrypt(self, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
        nonce = secrets.token_bytes(12)
        return nonce, AESGCM(self._key).encrypt(nonce, plaintext, aad)

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        try:
            return AESGCM(self._key).decrypt(bytes(nonce), bytes(ciphertext), aad)
        except InvalidTag:
            raise KeyStoreError(
                "key_tampered", _("A stored vending key does not decrypt: wrong store key or altered row.")
            ) from None

    @staticmethod
    def generate() -> bytes:
        return secrets.token_bytes(32)

    @staticmethod
    def encode(key: bytes) -> str:
        return base64.b64encode(key).decode() + "\n"

    @classmethod
    def from_text(cls, text: str) -> StoreKey:
        try:
            return cls(base64.b64decode(text.strip(), validate=True))
        except (binascii.Error, ValueError):
            raise KeyStoreError("bad_store_key", _("The store key is not valid base64.")) from None


def default_key_file() -> Path:
    return Path(settings.VAR_DIR) / "store.key"


def write_key_file(path: Path, key: bytes) -> None:
    """Write a store key file readable by its owner only (0600 before any byte is written, also when
    the file existed with wider rights); a folder it creates is 0700."""
    from prepay.common.files import private_dir

    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(StoreKey.encode(key))


def load_store_key(*, create: bool = True) -> StoreKey:
    """The configured store key: PREPAY_KEY_FILE, else PREPAY_STORE_KEY, else the var/ key file."""
    if path := os.environ.get("PREPAY_KEY_FILE"):
        try:
            return StoreKey.from_text(Path(path).read_text())
        except OSError:
            raise KeyStoreError(
                "no_store_key", _("Cannot read the store key file named by PREPAY_KEY_FILE.")
            ) from None
    if text := os.environ.get("PREPAY_STORE_KEY"):
        return StoreKey.from_text(text)
    path_ = default_key_file()
    if not path_.exists():
        if not create:
            raise KeyStoreError("no_store_key", _("No store key is configured (PREPAY_KEY_FILE)."))
        write_key_file(path_, StoreKey.generate())
    return StoreKey.from_text(path_.read_text())


#: asks the process-wide key store which store key it has loaded (None: none yet)
_loaded: Callable[[], StoreKey | None] | None = None


def register_loaded_key(fn: Callable[[], StoreKey | None]) -> None:
    """Let :func:`loaded_store_key` ask ``fn`` (the key store registers itself when the app loads)."""
    global _loaded
    _loaded = fn


def loaded_store_key() -> StoreKey | None:
    """The store key the process-wide key store has loaded already (never loads or creates one)."""
    return _loaded() if _loaded is not None else None
