"""Provider secrets at rest: sealed with AES-256-GCM under the store key that also protects the vending
keys (``prepay.tokens.keystore``: ``PREPAY_KEY_FILE``, ``PREPAY_STORE_KEY`` or ``var/store.key``).

The secrets of a provider are one JSON object (e.g. ``{"apiv3_key": …, "private_key": …}``), sealed as
one ciphertext bound to the provider's group, code and kind (``PaymentProvider.aad``). They are opened
only to sign or decrypt, held in a :class:`Secrets` mapping whose ``repr`` names the keys but never
the values, and never logged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from django.utils.translation import gettext as _

from prepay.common.errors import ActionError


class Secrets(Mapping[str, str]):
    """A provider's opened secrets; printing it shows the names only."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = {str(k): str(v) for k, v in values.items()}

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Secrets({', '.join(sorted(self._values))}: hidden)"

    __str__ = __repr__


def _store_key() -> Any:
    """The loaded store key (the process-wide key store's, else the configured one)."""
    from prepay.tokens.keystore import get_keystore, load_store_key

    store = get_keystore()
    key = getattr(store, "store_key", None)
    return key if key is not None else load_store_key()


def seal(provider: Any, values: Mapping[str, str]) -> None:
    """Encrypt ``values`` onto ``provider`` (not saved): nonce, ciphertext and the store key's id."""
    key = _store_key()
    plain = json.dumps(dict(values), sort_keys=True).encode()
    provider.secret_nonce, provider.secret_ciphertext = key.encrypt(plain, provider.aad())
    provider.store_key_id = key.key_id
    del plain


def unseal(provider: Any) -> Secrets:
    """The provider's secrets; :class:`ActionError` ``credentials_unreadable`` when another store key
    sealed them (after ``prepay keys rotate``: enter the credentials again) or the row was altered."""
    key = _store_key()
    if provider.store_key_id != key.key_id:
        raise ActionError(
            "credentials_unreadable",
            _(
                "The credentials of payment provider %(p)s were sealed with another store key; "
                "enter them again (docs/payments.md)."
            )
            % {"p": provider.code},
        )
    try:
        plain = key.decrypt(bytes(provider.secret_nonce), bytes(provider.secret_ciphertext), provider.aad())
    except ActionError:
        raise ActionError(
            "credentials_unreadable",
            _("The credentials of payment provider %(p)s do not decrypt: the row was altered.")
            % {"p": provider.code},
        ) from None
    return Secrets(json.loads(plain))


def rewrap_all(old: Any, new: Any) -> None:
    """Re-encrypt every provider's credentials sealed with ``old`` under ``new`` (``prepay keys
    rotate``, through :func:`prepay.tokens.keystore.register_rewrap`; in its transaction)."""
    from prepay.payments.models import PaymentProvider

    for provider in (
        PaymentProvider.objects.select_for_update().filter(store_key_id=old.key_id).order_by("pk")
    ):
        plain = old.decrypt(bytes(provider.secret_nonce), bytes(provider.secret_ciphertext), provider.aad())
        provider.secret_nonce, provider.secret_ciphertext = new.encrypt(plain, provider.aad())
        del plain
        provider.store_key_id = new.key_id
        provider.save(update_fields=["secret_nonce", "secret_ciphertext", "store_key_id"])
