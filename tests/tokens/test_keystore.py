from __future__ import annotations

import logging
import secrets
import traceback
from datetime import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from prepay.common.errors import ActionError
from prepay.tokens import actions as t
from prepay.tokens import keystore as ks
from prepay.tokens.models import VendingKey
from tests import factories as f
from tests.tokens.conftest import CTSA01_DK, CTSA01_VK

AT = timezone.make_aware(datetime(2026, 11, 23, 9, 30))


def _import(world, key_hex: str, sgc: str = "123456", krn: int = 1) -> VendingKey:
    [vk] = t.do_import_vending_keys(
        group=world.a1.group,
        actor=world.admin,
        rows=[{"dkga": "02", "supply_group_code": sgc, "key_revision": krn, "key_type": 2, "key": key_hex}],
    )
    return vk


class StoreKeyTestCase:
    def test_it_round_trips_and_binds_the_ciphertext_to_its_row(self, world, store):
        a = _import(world, CTSA01_VK)
        b = _import(world, "1122334455667788", krn=2)
        meter = f.meter(
            world.a1, drn="00000000000", supply_group_code="123456", tariff_index="01", key_revision=1
        )
        assert store.decoder_key(t.meter_ref(meter)).hex() == CTSA01_DK
        # copy b's ciphertext onto a's row: authenticated data no longer matches
        VendingKey.objects.filter(pk=a.pk).update(nonce=b.nonce, ciphertext=b.ciphertext)
        with pytest.raises(ks.KeyStoreError) as info:
            store.decoder_key(t.meter_ref(meter))
        assert info.value.code == "key_tampered"

    def test_it_refuses_to_decrypt_with_another_store_key(self, world, store, monkeypatch):
        _import(world, CTSA01_VK)
        meter = f.meter(world.a1, drn="00000000000", supply_group_code="123456", tariff_index="01")
        other = ks.SoftwareKeyStore(ks.StoreKey(bytes(32)))
        with pytest.raises(ks.KeyStoreError) as info:
            other.decoder_key(t.meter_ref(meter))
        assert info.value.code == "wrong_store_key"

    def test_it_never_shows_keys_in_repr(self, store):
        key = ks.StoreKey(bytes(range(32)))
        assert bytes(range(32)).hex() not in repr(key) and "StoreKey(id=" in repr(key)
        assert repr(store) == "SoftwareKeyStore()"

    def test_it_refuses_a_bad_store_key(self):
        with pytest.raises(ks.KeyStoreError):
            ks.StoreKey.from_text("not base64!!")
        with pytest.raises(ks.KeyStoreError):
            ks.StoreKey(b"short")

    def test_it_loads_the_key_file_named_in_the_environment(self, tmp_path, monkeypatch):
        raw = ks.StoreKey.generate()
        path = tmp_path / "store.key"
        ks.write_key_file(path, raw)
        assert path.stat().st_mode & 0o777 == 0o600
        monkeypatch.setenv("PREPAY_KEY_FILE", str(path))
        assert ks.load_store_key().key_id == ks.StoreKey(raw).key_id
        monkeypatch.setenv("PREPAY_KEY_FILE", str(tmp_path / "missing"))
        with pytest.raises(ks.KeyStoreError):
            ks.load_store_key()


class RotateTestCase:
    def test_it_reencrypts_every_key_under_a_new_store_key(self, world, tmp_path, monkeypatch):
        old_file = tmp_path / "old.key"
        ks.write_key_file(old_file, ks.StoreKey.generate())
        monkeypatch.setenv("PREPAY_KEY_FILE", str(old_file))
        ks.reset_keystore()
        _import(world, CTSA01_VK)
        meter = f.meter(world.a1, drn="00000000000", supply_group_code="123456", tariff_index="01")
        root = f.user("root", is_superuser=True)
        new_file = tmp_path / "new.key"
        call_command("keys", "rotate", "--user", root.username, "--new-key-file", str(new_file))
        monkeypatch.setenv("PREPAY_KEY_FILE", str(new_file))
        ks.reset_keystore()
        assert ks.get_keystore().decoder_key(t.meter_ref(meter)).hex() == CTSA01_DK
        monkeypatch.setenv("PREPAY_KEY_FILE", str(old_file))
        ks.reset_keystore()
        with pytest.raises(ks.KeyStoreError):
            ks.get_keystore().decoder_key(t.meter_ref(meter))
        ks.reset_keystore()

    def test_it_keeps_old_audit_events_verifiable_and_seals_on_with_a_new_audit_key(
        self, world, tmp_path, monkeypatch
    ):
        from prepay.audit.chain import verify_log
        from prepay.audit.models import AuditEvent, AuditKey

        old_file = tmp_path / "old.key"
        ks.write_key_file(old_file, ks.StoreKey.generate())
        monkeypatch.setenv("PREPAY_KEY_FILE", str(old_file))
        ks.reset_keystore()
        _import(world, CTSA01_VK)  # audited: sealed with the first audit key
        before = verify_log()
        root = f.user("root", is_superuser=True)
        new_file = tmp_path / "new.key"
        call_command("keys", "rotate", "--user", root.username, "--new-key-file", str(new_file))
        monkeypatch.setenv("PREPAY_KEY_FILE", str(new_file))
        ks.reset_keystore()
        _import(world, "1122334455667788", krn=2)
        rotated = AuditEvent.objects.get(verb="audit.key_rotated")
        after = verify_log()
        assert after.ok and after.count == before.count + 2
        assert after.key_ids == (*before.key_ids, rotated.mac_key) and len(set(after.key_ids)) == 2
        assert rotated.after["store_key"] == ks.load_store_key().key_id
        new_store = ks.load_store_key().key_id
        assert set(AuditKey.objects.values_list("store_key_id", flat=True)) == {new_store}
        monkeypatch.setenv("PREPAY_KEY_FILE", str(old_file))  # the old store key reads no audit key now
        ks.reset_keystore()
        assert verify_log().problem.kind == "key"
        ks.reset_keystore()


class KeyFileRightsTestCase:
    def test_it_makes_an_existing_key_file_owner_only_when_it_writes_it(self, tmp_path):
        path = tmp_path / "keys" / "store.key"
        path.parent.mkdir()
        path.write_text("old")
        path.chmod(0o644)
        ks.write_key_file(path, ks.StoreKey.generate())
        assert path.stat().st_mode & 0o777 == 0o600

    def test_it_creates_the_key_folder_owner_only(self, tmp_path):
        path = tmp_path / "new-folder" / "store.key"
        ks.write_key_file(path, ks.StoreKey.generate())
        assert (path.parent.stat().st_mode & 0o777, path.stat().st_mode & 0o777) == (0o700, 0o600)


class NoKeyInClearTestCase:
    """The vending key (and the derived decoder key) never reach logs, exceptions or the database."""

    def test_it_keeps_keys_out_of_logs_exceptions_and_tables(self, world, store, caplog):
        vk_hex = secrets.token_hex(8).upper()
        caplog.set_level(logging.DEBUG)
        caplog.set_level(logging.DEBUG, logger="django.db.backends")
        connection.force_debug_cursor = True  # log every SQL statement with its parameters
        failures: list[str] = []
        try:
            _import(world, vk_hex)
            meter = f.meter(world.a1, drn="00000000000", supply_group_code="123456", tariff_index="01")
            dk_hex = store.decoder_key(t.meter_ref(meter)).hex()
            t.do_issue_credit_token(meter=meter, amount=Decimal("10"), actor=world.cashier, reason="x", at=AT)
            for call in (
                lambda: t.do_issue_credit_token(
                    meter=meter, amount=Decimal("9999999"), actor=world.cashier, reason="x"
                ),
                lambda: t.do_import_vending_keys(
                    group=world.a1.group,
                    actor=world.admin,
                    rows=[
                        {
                            "dkga": "02",
                            "supply_group_code": "123456",
                            "key_revision": 1,
                            "key_type": 2,
                            "key": vk_hex,
                        }
                    ],
                ),
                lambda: t.do_import_vending_keys(
                    group=world.a1.group,
                    actor=world.admin,
                    rows=[
                        {
                            "dkga": "04",
                            "supply_group_code": "123456",
                            "key_revision": 3,
                            "key_type": 2,
                            "key": vk_hex,
                        }
                    ],
                ),
            ):
                with pytest.raises(ActionError) as info:
                    call()
                failures.append("".join(traceback.format_exception(info.value)) + repr(info.value))
        finally:
            connection.force_debug_cursor = False
        secrets_ = {vk_hex, vk_hex.lower(), dk_hex, dk_hex.lower()}
        haystacks = {"logs": caplog.text, "exceptions": "\n".join(failures), "database": _dump_database()}
        assert "INSERT" in caplog.text  # the SQL log really was captured
        for where, text in haystacks.items():
            for secret in secrets_:
                assert secret not in text, f"key material found in {where}"
        assert bytes.fromhex(vk_hex).hex() not in haystacks["database"]


def _dump_database() -> str:
    """Every column of every row of every table, as text (bytes as hex)."""
    parts: list[str] = []
    with connection.cursor() as cur:
        for model in apps.get_models():
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
            for row in cur.fetchall():
                parts.append(
                    " ".join(bytes(v).hex() if isinstance(v, (bytes, memoryview)) else str(v) for v in row)
                )
    return "\n".join(parts)
