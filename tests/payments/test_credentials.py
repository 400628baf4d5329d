"""Provider secrets at rest: sealed under the store key and bound to the provider row; never in the
clear in the database, never in a repr; another store key or an altered row is a clear refusal."""

from __future__ import annotations

import pytest
from django.db import connection

from prepay.common.errors import ActionError
from prepay.payments.credentials import Secrets, unseal
from prepay.payments.models import PaymentProvider
from prepay.tokens import keystore as ks


class CredentialsTestCase:
    def test_the_secrets_are_not_in_the_database_in_clear(self, pay):
        values = unseal(pay.provider)
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM payments_paymentprovider")
            row = " ".join(str(c) for c in cursor.fetchone())
        assert values["apiv3_key"] not in row and "PRIVATE KEY" not in row

    def test_a_repr_names_the_secrets_only(self, pay):
        values = unseal(pay.provider)
        assert (
            "hidden" in repr(values)
            and values["apiv3_key"] not in repr(values)
            and values["apiv3_key"] not in str(values)
        )
        assert repr(Secrets({"a": "b"})) == "Secrets(a: hidden)"

    def test_another_store_key_is_refused_clearly(self, pay, monkeypatch):
        monkeypatch.setattr(ks, "_store", ks.SoftwareKeyStore(ks.StoreKey(bytes(range(1, 33)))))
        with pytest.raises(ActionError) as exc:
            unseal(pay.provider)
        assert exc.value.code == "credentials_unreadable" and "enter them again" in str(exc.value)

    def test_a_ciphertext_moved_to_another_provider_does_not_open(self, pay):
        from tests.payments.conftest import add_online_point, add_simulated

        other = add_simulated(pay.shop.world, add_online_point(pay.shop.world.a1.site, "wx2"), code="sim2")
        PaymentProvider.objects.filter(pk=other.pk).update(
            secret_nonce=pay.provider.secret_nonce, secret_ciphertext=pay.provider.secret_ciphertext
        )
        other.refresh_from_db()
        with pytest.raises(ActionError) as exc:
            unseal(other)
        assert exc.value.code == "credentials_unreadable"


class RotationTestCase:
    def test_keys_rotate_reencrypts_the_credentials(self, pay):
        from django.db import transaction

        before = dict(unseal(pay.provider))
        old_id = pay.provider.store_key_id
        with transaction.atomic():
            ks.get_keystore().reencrypt_all(ks.StoreKey(ks.StoreKey.generate()))
        pay.provider.refresh_from_db()
        assert pay.provider.store_key_id != old_id
        assert dict(unseal(pay.provider)) == before
