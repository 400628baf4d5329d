"""The audit key: an HMAC key that seals every event of the chain, kept outside the reach of SQL.

An insider who can write to the database can recompute plain SHA-256 hashes; the audit key is what
they cannot reproduce. Each key is 32 random bytes, stored in ``audit.AuditKey`` only encrypted
(AES-256-GCM) with the **store key** — the key that also encrypts the vending keys and that lives
outside the database (``PREPAY_KEY_FILE``, ``PREPAY_STORE_KEY`` or ``var/store.key``; see
:mod:`prepay.common.storekey`). Reading the database therefore yields no audit key.

Keys are named by ``key_id`` (a fingerprint of the key, never the key). An event records the id of
the key that sealed it (``AuditEvent.mac_key``) and each chain head records the key its next events
use (``AuditHead.mac_key``): a key is not tied to one head, so several chains may share or change
keys independently. ``prepay keys rotate`` re-encrypts every audit key under the new store key (old
events stay verifiable) and starts a new audit key (see :func:`prepay.audit.actions.start_new_key`).

Nothing here logs, prints or puts a key into an exception message.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.utils.translation import gettext as _

from prepay.common import storekey
from prepay.common.errors import ActionError

#: domain separation of the MAC (bump the version if what is sealed ever changes)
MAC_CONTEXT = b"prepay-audit-mac/1\x00"

#: decrypted keys by id; an id is a fingerprint of its key, so an entry can never be stale
_cache: dict[str, bytes] = {}


class AuditKeyError(ActionError):
    """An audit key cannot be loaded (no store key, a wrong one, or the key row is missing)."""


def seal(key: bytes, digest: str) -> str:
    """The MAC of an event: HMAC-SHA256 over its hash (which covers its content and ``prev_hash``)."""
    return hmac.new(key, MAC_CONTEXT + digest.encode(), hashlib.sha256).hexdigest()


def key_id_of(key: bytes) -> str:
    """A short public name of ``key`` (16 hex digits of a domain-separated SHA-256)."""
    return hashlib.sha256(b"prepay-audit-key-id\x00" + key).hexdigest()[:16]


def _aad(key_id: str) -> bytes:
    return f"prepay-audit-key|{key_id}".encode()


def store_key(*, fresh: bool = False, create: bool = True) -> Any:
    """The store key: the one the process-wide software key store has loaded, else the configured
    one (:func:`prepay.common.storekey.load_store_key`; ``create`` lets it create ``var/store.key`` on
    a single PC, as vending does). ``fresh`` re-reads the configuration (another process may have
    rotated the key and replaced the key file). Raises ``storekey.KeyStoreError`` when none can be had."""
    if not fresh and (loaded := storekey.loaded_store_key()) is not None:
        return loaded
    return storekey.load_store_key(create=create)


def _model(model: Any) -> Any:
    if model is not None:
        return model
    from prepay.audit.models import AuditKey

    return AuditKey


def create(*, model: Any = None, using: str = "default", with_store_key: Any = None) -> tuple[str, bytes]:
    """Make a new random audit key, store it encrypted under the store key; return (id, key).

    The caller holds a transaction (the chain head's lock, or a migration's). ``model`` is the
    ``AuditKey`` model to write through (a migration passes its historical model).
    """
    sk = with_store_key or store_key()
    key = secrets.token_bytes(32)
    key_id = key_id_of(key)
    nonce, ciphertext = sk.encrypt(key, _aad(key_id))
    _model(model).objects.using(using).create(
        key_id=key_id, store_key_id=sk.key_id, nonce=nonce, ciphertext=ciphertext
    )
    _cache[key_id] = key
    return key_id, key


def load(
    key_id: str, *, model: Any = None, using: str = "default", create: bool = True, cached: bool = True
) -> bytes:
    """The audit key named ``key_id``; raises :class:`AuditKeyError` when it cannot be had.

    A key that does not decrypt under the loaded store key is tried once more under a freshly read
    store key (another process may have rotated it and replaced the key file). ``create``: see
    :func:`store_key` (verification passes False: it never creates a key file). ``cached=False``
    reads the row even when this process knows the key (verification proves the row is there).
    """
    if cached and (key := _cache.get(key_id)) is not None:
        return key
    row = _model(model).objects.using(using).filter(key_id=key_id).first()
    if row is None:
        raise AuditKeyError(
            "audit_key_missing",
            _("Audit key %(id)s is not in the database: it was deleted.") % {"id": key_id},
        )
    try:
        sk = store_key(create=create)
        key = _decrypt(row, sk)
        if key is None:
            sk = store_key(fresh=True, create=create)
            key = _decrypt(row, sk)
    except storekey.KeyStoreError as exc:
        raise AuditKeyError(
            "audit_key_no_store_key",
            _("Audit key %(id)s cannot be read: %(why)s") % {"id": key_id, "why": exc.message},
        ) from None
    if key is None or key_id_of(key) != key_id:
        raise AuditKeyError(
            "audit_key_undecryptable",
            _(
                "Audit key %(id)s does not decrypt with the configured store key %(sk)s "
                "(it was encrypted with store key %(want)s)."
            )
            % {"id": key_id, "sk": sk.key_id, "want": row.store_key_id},
        )
    _cache[key_id] = key
    return key


def _decrypt(row: Any, sk: Any) -> bytes | None:
    if row.store_key_id != sk.key_id:
        return None
    try:
        key: bytes = sk.decrypt(bytes(row.nonce), bytes(row.ciphertext), _aad(row.key_id))
    except storekey.KeyStoreError:
        return None
    return key


def for_head(head: Any, *, model: Any = None, using: str = "default") -> tuple[str, bytes]:
    """The key that seals the next events of ``head`` (locked by the caller). A head without one
    gets one (``head.mac_key`` is set; the caller saves the head): a new chain the newest audit key
    (the chains of one installation share their key until the next rotation), an old chain that
    holds unsealed events a new key."""
    if not head.mac_key and head.seq == 0:
        head.mac_key = (
            _model(model).objects.using(using).order_by("-id").values_list("key_id", flat=True).first()
        )
    if head.mac_key:
        return head.mac_key, load(head.mac_key, model=model, using=using)
    key_id, key = create(model=model, using=using)
    head.mac_key = key_id
    return key_id, key


def reencrypt_all(old: Any, new: Any, *, using: str = "default") -> int:
    """Re-encrypt every audit key from store key ``old`` to ``new`` (caller holds a transaction);
    the keys themselves do not change, so every event stays verifiable. Returns the count."""
    from prepay.audit.models import AuditKey

    count = 0
    for row in AuditKey.objects.using(using).select_for_update().order_by("pk"):
        key = _decrypt(row, old)
        if key is None:
            raise AuditKeyError(
                "audit_key_undecryptable",
                _("Audit key %(id)s does not decrypt with the current store key; nothing was rotated.")
                % {"id": row.key_id},
            )
        row.nonce, row.ciphertext = new.encrypt(key, _aad(row.key_id))
        row.store_key_id = new.key_id
        row.save(update_fields=["nonce", "ciphertext", "store_key_id"])
        count += 1
    return count
