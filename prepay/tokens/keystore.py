"""The vending-key store: keys encrypted at rest with AES-256-GCM, derived into decoder keys on demand.

The store key (32 random bytes, base64 in a file; :mod:`prepay.common.storekey`) comes from
``PREPAY_KEY_FILE`` or, failing that, the ``PREPAY_STORE_KEY`` environment variable; on a single PC
without either, a key file is created once at ``<PREPAY_VAR_DIR>/store.key`` (mode 0600). Keep it on
another disk than the database backups in production.

The store key also encrypts the audit keys that seal the audit chain (:mod:`prepay.audit.keys`):
``reencrypt_all`` (``prepay keys rotate``) re-encrypts them with the vending keys and starts a new
audit key, so every process that writes needs the store key, not only the vending ones.

``KeyStore`` is the interface the rest of Prepay uses; an HSM adapter implements the same two calls
(``decoder_key`` and ``import_key``) without ever exposing a vending key to Python.
Nothing here logs, prints or puts a key (vending, decoder or store) into an exception message.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.db.models import CharField, F, Func, JSONField, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.utils.translation import gettext as _

from prepay.common.storekey import KeyStoreError, StoreKey, load_store_key, register_loaded_key
from prepay.common.storekey import default_key_file as default_key_file  # re-exported
from prepay.common.storekey import write_key_file as write_key_file  # re-exported
from prepay.domain.tokens.sts import api as sts
from prepay.domain.tokens.sts.errors import StsError
from prepay.domain.tokens.sts.ids import parse_pan
from prepay.domain.tokens.sts.keys import DecoderKey, KeyParameters


@dataclass(frozen=True)
class MeterKeyRef:
    """What identifies a meter's decoder key: its DRN and current key parameters."""

    group_id: int
    drn: str
    supply_group_code: str
    tariff_index: str
    key_revision: int
    key_type: int
    base_date: int
    encryption_algorithm: str


#: ``decoder_key``'s ``row`` when the caller has not read the key slot's vending key
UNREAD: Any = object()


class _Hex(Func):
    """A binary column as hex text (JSON holds no bytes): ``hex()`` on SQLite, ``encode(…, 'hex')``
    on PostgreSQL."""

    function = "HEX"
    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="encode(%(expressions)s, 'hex')", **extra)


_SLOT_KEY = "slot_key"  # the annotation with_slot_key adds and slot_key_of reads


def with_slot_key(meters: QuerySet[Any]) -> QuerySet[Any]:
    """``meters`` with the vending key of each meter's key slot (group, SGC, KRN, key type) read in
    the same query, as one JSON subquery (``slot_key``; :func:`slot_key_of` makes it a row again):
    a sale reads the key with the meter instead of asking for it when it issues the token."""
    from prepay.tokens.models import VendingKey

    slot = VendingKey.objects.filter(
        group_id=OuterRef("group_id"),
        supply_group_code=OuterRef("supply_group_code"),
        key_revision=OuterRef("key_revision"),
        key_type=OuterRef("key_type"),
    )
    columns = (
        "id",
        "group_id",
        "label",
        "dkga",
        "supply_group_code",
        "key_revision",
        "key_type",
        "store_key_id",
    )
    row = JSONObject(
        **{name: F(name) for name in columns},
        nonce=_Hex("nonce"),
        ciphertext=_Hex("ciphertext"),
    )
    return meters.annotate(**{_SLOT_KEY: Subquery(slot.values(row=row)[:1], output_field=JSONField())})


def slot_key_of(meter: Any) -> Any:
    """The ``VendingKey`` that :func:`with_slot_key` read with ``meter`` (None: its slot has none),
    else ``UNREAD``: what :meth:`SoftwareKeyStore.decoder_key` takes as ``row``."""
    from prepay.tokens.models import VendingKey

    if _SLOT_KEY not in meter.__dict__:
        return UNREAD
    data = meter.__dict__[_SLOT_KEY]
    if data is None:
        return None
    return VendingKey(
        **{k: v for k, v in data.items() if k not in ("nonce", "ciphertext")},
        nonce=bytes.fromhex(data["nonce"]),
        ciphertext=bytes.fromhex(data["ciphertext"]),
    )


class KeyStore(Protocol):
    def decoder_key(self, ref: MeterKeyRef, *, row: Any = UNREAD) -> DecoderKey: ...

    def card_key(self, group_id: int, serial: str) -> bytes: ...

    def import_key(
        self,
        *,
        group: Any,
        label: str,
        dkga: str,
        supply_group_code: str,
        key_revision: int,
        key_type: int,
        key_hex: str,
    ) -> Any: ...


class SoftwareKeyStore:
    """Vending keys in the database, encrypted with the store key; derivation in this process."""

    def __init__(self, store_key: StoreKey | None = None) -> None:
        self._store_key = store_key

    @property
    def store_key(self) -> StoreKey:
        if self._store_key is None:
            self._store_key = load_store_key()
        return self._store_key

    @property
    def loaded_store_key(self) -> StoreKey | None:
        """The store key if this store has loaded it already (never loads or creates one)."""
        return self._store_key

    def __repr__(self) -> str:
        return "SoftwareKeyStore()"

    def import_key(
        self,
        *,
        group: Any,
        label: str,
        dkga: str,
        supply_group_code: str,
        key_revision: int,
        key_type: int,
        key_hex: str,
    ) -> Any:
        """Encrypt and store a vending key (caller: an action, inside its transaction, audited)."""
        from prepay.tokens.models import VendingKey

        raw = _parse_key_hex(key_hex, dkga)
        row = VendingKey(
            group=group,
            label=label,
            dkga=dkga,
            supply_group_code=supply_group_code,
            key_revision=key_revision,
            key_type=key_type,
            store_key_id=self.store_key.key_id,
        )
        row.nonce, row.ciphertext = self.store_key.encrypt(raw, row.aad())
        del raw
        row.save()
        return row

    def _vending_key(self, row: Any) -> bytes:
        if row.store_key_id != self.store_key.key_id:
            raise KeyStoreError(
                "wrong_store_key",
                _("Vending key %(label)s was encrypted with store key %(want)s, but %(have)s is loaded.")
                % {"label": row.label, "want": row.store_key_id, "have": self.store_key.key_id},
            )
        return self.store_key.decrypt(row.nonce, row.ciphertext, row.aad())

    def decoder_key(self, ref: MeterKeyRef, *, row: Any = UNREAD) -> DecoderKey:
        """Derive the meter's decoder key from the vending key of its key slot. ``row``: that slot's
        ``VendingKey`` (None: the slot has none) when the caller read it with the meter
        (:func:`with_slot_key`, :func:`slot_key_of`); it is read here otherwise."""
        from prepay.tokens.models import VendingKey

        if row is UNREAD:
            row = VendingKey.objects.filter(
                group_id=ref.group_id,
                supply_group_code=ref.supply_group_code,
                key_revision=ref.key_revision,
                key_type=ref.key_type,
            ).first()
        elif row is not None and (
            row.group_id,
            row.supply_group_code,
            row.key_revision,
            row.key_type,
        ) != (ref.group_id, ref.supply_group_code, ref.key_revision, ref.key_type):
            raise ValueError("the vending key given is not the key slot's")
        if row is None:
            raise KeyStoreError(
                "no_vending_key",
                _("No vending key for supply group %(sgc)s, key revision %(krn)s, key type %(kt)s.")
                % {"sgc": ref.supply_group_code, "krn": ref.key_revision, "kt": ref.key_type},
            )
        try:
            params = KeyParameters(
                dkga=row.dkga,
                vending_key=self._vending_key(row),
                supply_group_code=ref.supply_group_code,
                tariff_index=int(ref.tariff_index),
                key_revision=ref.key_revision,
                key_type=ref.key_type,
                pan=parse_pan(ref.drn),
                base_date=ref.base_date,
                encryption_algorithm=ref.encryption_algorithm,
            )
            return sts.decoder_key(params)
        except StsError as exc:
            # StsError messages never contain key material (the engine redacts); keep only the text.
            raise KeyStoreError(
                exc.code, _("Cannot derive the decoder key: %(why)s") % {"why": exc}
            ) from None

    def card_key(self, group_id: int, serial: str) -> bytes:
        """The IC-card key of meter ``serial``: HMAC-SHA256(group card master, serial). The master is
        created (random, encrypted at rest) on first use; the caller holds a transaction."""
        import hmac

        from prepay.tokens.models import CardMasterKey

        row = CardMasterKey.objects.filter(group_id=group_id).first()
        if row is None:
            master = os.urandom(32)
            row = CardMasterKey(group_id=group_id, store_key_id=self.store_key.key_id)
            row.nonce, row.ciphertext = self.store_key.encrypt(master, row.aad())
            row.save()
        elif row.store_key_id != self.store_key.key_id:
            raise KeyStoreError(
                "wrong_store_key", _("The card master key was encrypted with another store key.")
            )
        else:
            master = self.store_key.decrypt(bytes(row.nonce), bytes(row.ciphertext), row.aad())
        return hmac.new(master, f"card|{serial}".encode(), hashlib.sha256).digest()

    def reencrypt_all(self, new: StoreKey) -> int:
        """Re-encrypt every vending key, card master key and audit key under ``new`` (caller holds a
        transaction), then start a new audit key for the audit chain (recorded as an
        ``audit.key_rotated`` event; old events keep verifying with their re-encrypted key).
        Returns the count of vending keys."""
        from prepay.audit import actions as audit_actions
        from prepay.audit import keys as audit_keys
        from prepay.tokens.models import CardMasterKey, VendingKey

        for card in CardMasterKey.objects.select_for_update().order_by("pk"):
            plain = self.store_key.decrypt(bytes(card.nonce), bytes(card.ciphertext), card.aad())
            card.nonce, card.ciphertext = new.encrypt(plain, card.aad())
            del plain
            card.store_key_id = new.key_id
            card.save(update_fields=["nonce", "ciphertext", "store_key_id"])
        count = 0
        for row in VendingKey.objects.select_for_update().order_by("pk"):
            raw = self._vending_key(row)
            row.nonce, row.ciphertext = new.encrypt(raw, row.aad())
            del raw
            row.store_key_id = new.key_id
            row.save(update_fields=["nonce", "ciphertext", "store_key_id"])
            count += 1
        for rewrap in _REWRAPPERS:  # secrets of higher apps (payment credentials …)
            rewrap(self.store_key, new)
        reencrypted = audit_keys.reencrypt_all(self.store_key, new)
        audit_actions.start_new_key(new, reencrypted=reencrypted)
        self._store_key = new
        return count


def _parse_key_hex(key_hex: str, dkga: str) -> bytes:
    want = 8 if dkga == "02" else 20 if dkga == "04" else 0
    if not want:
        raise KeyStoreError("invalid", _("The key generation algorithm must be 02 or 04."))
    text = "".join(str(key_hex).split())
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise KeyStoreError("invalid", _("The vending key is not hexadecimal.")) from None
    if len(raw) != want:
        raise KeyStoreError("invalid", _("A DKGA%(a)s vending key has %(n)s bytes.") % {"a": dkga, "n": want})
    return raw


_store: KeyStore | None = None

#: functions ``(old store key, new store key) -> None`` that re-encrypt other apps' secrets sealed
#: with the store key when it is rotated (registered by those apps: the key store knows none of them)
_REWRAPPERS: list[Callable[[Any, Any], None]] = []


def register_rewrap(fn: Callable[[Any, Any], None]) -> None:
    """Have ``reencrypt_all`` call ``fn(old, new)`` in its transaction (once per function)."""
    if fn not in _REWRAPPERS:
        _REWRAPPERS.append(fn)


def get_keystore() -> KeyStore:
    """The process-wide key store (``settings.PREPAY_KEYSTORE`` may name another class, e.g. an HSM)."""
    global _store
    if _store is None:
        from django.utils.module_loading import import_string

        cls = import_string(getattr(settings, "PREPAY_KEYSTORE", "prepay.tokens.keystore.SoftwareKeyStore"))
        _store = cls()
    return _store


def _loaded_store_key() -> StoreKey | None:
    loaded = getattr(get_keystore(), "loaded_store_key", None)
    return loaded if isinstance(loaded, StoreKey) else None


register_loaded_key(_loaded_store_key)  # the audit chain asks which store key this process loaded


def reset_keystore() -> None:
    """Forget the cached store (tests, and after a rotation)."""
    global _store
    _store = None
