"""The audit key: the switch of an existing chain to sealed events, the cut-over migration, and what
the writer does when the key cannot be had."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import transaction

from prepay.audit import keys
from prepay.audit.actions import record_event
from prepay.audit.chain import verify_log
from prepay.audit.models import AuditEvent, AuditHead, AuditKey
from prepay.tokens import keystore as ks
from tests.audit import tamper

keyed_migration = importlib.import_module("prepay.audit.migrations.0005_sealed_chain")


def write(verb: str = "test.event") -> AuditEvent:
    with transaction.atomic():
        return record_event(actor=None, verb=verb, object_type="t", object_id="1", object_repr=verb)


class AuditKeyTestCase:
    def test_it_seals_every_event_and_stores_the_key_only_encrypted(self, db):
        first, second = write(), write()
        head = AuditHead.objects.get()
        row = AuditKey.objects.get()
        assert first.mac_key == second.mac_key == head.mac_key == row.key_id
        assert first.mac == keys.seal(keys.load(row.key_id), first.hash)
        assert row.store_key_id == ks.load_store_key().key_id
        assert keys.load(row.key_id).hex() not in bytes(row.ciphertext).hex()
        result = verify_log()
        assert (result.ok, result.of().keyed_from, result.key_ids) == (True, 1, (row.key_id,))

    def test_it_keys_an_old_chain_at_the_next_write_and_records_the_switch(self, db):
        tamper.legacy(3)
        assert verify_log(seals=False).ok
        assert verify_log().problem.kind == "unkeyed"  # not yet sealed: verify says so
        write("test.after")
        verbs = list(AuditEvent.objects.order_by("seq").values_list("seq", "verb", "mac"))
        assert [v[:2] for v in verbs[3:]] == [(4, "audit.chain_keyed"), (5, "test.after")]
        assert all(v[2] is None for v in verbs[:3]) and all(v[2] for v in verbs[3:])
        assert AuditEvent.objects.get(seq=4).after == {
            "audit_key": AuditHead.objects.get().mac_key,
            "sealed_from": 4,
        }
        result = verify_log()
        assert (result.ok, result.count, result.of().keyed_from) == (True, 5, 4)

    def test_the_seal_of_the_switch_vouches_for_the_events_before_it(self, db):
        tamper.legacy(3)
        write()
        tamper.rewrite_from(2, object_repr="rewritten before the switch")
        problem = verify_log().problem
        assert (problem.seq, problem.kind) == (4, "forged")

    def test_the_migration_keys_a_chain_that_holds_events(self, db):
        tamper.legacy(2)
        with transaction.atomic():
            keyed_migration.key_the_chain(apps, None)
        assert AuditEvent.objects.order_by("-seq").first().verb == "audit.chain_keyed"
        assert verify_log().ok
        with transaction.atomic():  # run again: nothing more to do
            keyed_migration.key_the_chain(apps, None)
        assert AuditEvent.objects.count() == 3

    def test_the_migration_leaves_an_empty_chain_alone(self, db):
        with transaction.atomic():
            keyed_migration.key_the_chain(apps, None)
        assert not AuditEvent.objects.exists() and not AuditKey.objects.exists()

    def test_without_a_store_key_the_migration_defers_the_switch(self, db, tmp_path, monkeypatch, capsys):
        from prepay.audit.actions import record_in_migration

        tamper.legacy(2)
        monkeypatch.setenv("PREPAY_KEY_FILE", str(tmp_path / "missing.key"))
        ks.reset_keystore()
        with transaction.atomic():
            keyed_migration.key_the_chain(apps, None)
            record_in_migration(apps, verb="test.cutover", object_type="t", object_id="1", after={})
        assert "the next write keys it" in capsys.readouterr().err
        assert AuditEvent.objects.order_by("-seq").values_list("verb", "mac").first() == (
            "test.cutover",
            None,
        )
        assert verify_log(seals=False).ok and verify_log().problem.kind == "unkeyed"

    def test_a_writer_that_cannot_read_the_key_refuses_and_changes_nothing(self, db, tmp_path, monkeypatch):
        write()
        keys._cache.clear()  # a process that has not loaded the key yet
        other = tmp_path / "other.key"
        ks.write_key_file(other, ks.StoreKey.generate())
        monkeypatch.setenv("PREPAY_KEY_FILE", str(other))
        ks.reset_keystore()
        with pytest.raises(keys.AuditKeyError) as info:
            write("test.refused")
        assert info.value.code == "audit_key_undecryptable"
        assert not AuditEvent.objects.filter(verb="test.refused").exists()

    def test_a_key_file_replaced_by_a_rotation_elsewhere_is_read_again(self, db, tmp_path, monkeypatch):
        write()
        key_id = AuditHead.objects.get().mac_key
        old = ks.get_keystore().store_key  # this process has loaded the store key
        keys._cache.clear()
        raw = ks.StoreKey.generate()
        with transaction.atomic():
            keys.reencrypt_all(old, ks.StoreKey(raw))
        ks.write_key_file(tmp_path / "store.key", raw)  # another process rotated and replaced the file
        assert ks.get_keystore().loaded_store_key is old
        assert keys.load(key_id)  # the loaded store key fails, the file's new one works
