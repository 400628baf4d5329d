"""A sale reads the vending key of the meter's key slot with the meter (``with_slot_key``: one JSON
subquery on group, SGC, KRN and key type): the same key as the keystore's own read, never another
group's or another slot's, and no key when the slot has none."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from prepay.meters.models import Meter
from prepay.tenancy.choices import Role
from prepay.tokens import actions as t
from prepay.tokens.keystore import UNREAD, get_keystore, slot_key_of, with_slot_key
from prepay.tokens.models import VendingKey
from tests import factories as f
from tests.helpers import refused
from tests.tokens.conftest import CTSA01_DK, CTSA01_VK


def _import(group, admin, sgc: str, key: str, label: str) -> None:
    t.do_import_vending_keys(
        group=group,
        actor=admin,
        rows=[
            {
                "label": label,
                "dkga": "02",
                "supply_group_code": sgc,
                "key_revision": 1,
                "key_type": 2,
                "key": key,
            }
        ],
    )


def _with_key(meter: Meter) -> Meter:
    return with_slot_key(Meter.objects.select_related("model")).get(pk=meter.pk)


def _key_reads(q: CaptureQueriesContext) -> list[str]:
    """The statements that read a vending key row (not the row counts ``refused`` compares)."""
    return [s["sql"] for s in q.captured_queries if '"tokens_vendingkey"."id"' in s["sql"]]


@pytest.fixture
def keyed(world, store):
    _import(world.a1.group, world.admin, "123456", CTSA01_VK, "a VUDK")
    # the same slot in another group, with another key: never the a1 meter's
    admin_b = f.user("admin_b", memberships=[(world.b1.group, None, Role.ADMIN)])
    _import(world.b1.group, admin_b, "123456", "0123456789ABCDEF", "b VUDK")
    return f.meter(world.a1, drn="00000000000", supply_group_code="123456", tariff_index="01")


class KeyWithMeterTestCase:
    def test_the_joined_key_is_the_slots_key_of_the_meters_group(self, world, keyed):
        meter = _with_key(keyed)
        key, stored = slot_key_of(meter), VendingKey.objects.get(group=world.a1.group)
        fields = [f.attname for f in VendingKey._meta.concrete_fields if f.attname != "created_at"]
        assert {n: getattr(key, n) for n in fields} == {n: getattr(stored, n) for n in fields}
        assert isinstance(key.nonce, bytes) and key.aad() == stored.aad()
        assert slot_key_of(Meter.objects.get(pk=keyed.pk)) is UNREAD  # not read with the meter
        ref = t.meter_ref(meter)
        assert get_keystore().decoder_key(ref, row=slot_key_of(meter)) == get_keystore().decoder_key(ref)
        assert get_keystore().decoder_key(ref).hex().upper() == CTSA01_DK

    def test_a_token_issued_with_the_joined_key_reads_no_key_and_decodes(self, world, keyed):
        meter = _with_key(keyed)
        with transaction.atomic(), CaptureQueriesContext(connection) as q:
            joined = t.issue_credit_token(
                meter=meter, amount=Decimal("5"), actor=world.cashier, reason="joined"
            )
        assert not _key_reads(q)
        plain = Meter.objects.get(pk=keyed.pk)  # without the join: the keystore reads the key
        with transaction.atomic(), CaptureQueriesContext(connection) as q:
            read = t.issue_credit_token(meter=plain, amount=Decimal("5"), actor=world.cashier, reason="read")
        assert _key_reads(q)
        assert joined.amount == read.amount == Decimal("5") and joined.tid != read.tid

    def test_a_slot_without_a_key_joins_none_and_is_refused(self, world, keyed):
        Meter.objects.filter(pk=keyed.pk).update(supply_group_code="654321")
        meter = _with_key(keyed)
        assert slot_key_of(meter) is None
        # the body a sale calls takes the joined None as the answer: refused without asking again
        with transaction.atomic(), CaptureQueriesContext(connection) as q:
            refused(
                "no_vending_key",
                t.issue_credit_token,
                meter=meter,
                amount=Decimal("1"),
                actor=world.cashier,
                reason="x",
            )
        assert not _key_reads(q)

    def test_another_groups_meter_never_joins_this_groups_key(self, world, keyed):
        other = f.meter(world.b1, drn="00000000000", supply_group_code="123456", tariff_index="01")
        assert slot_key_of(_with_key(other)).label == "b VUDK"
        VendingKey.objects.filter(group=world.b1.group).delete()
        assert slot_key_of(_with_key(other)) is None

    def test_a_key_of_another_slot_is_not_accepted(self, world, keyed):
        a_key = VendingKey.objects.get(group=world.a1.group)
        other = f.meter(world.b1, drn="00000000000", supply_group_code="123456", tariff_index="01")
        with pytest.raises(ValueError):
            get_keystore().decoder_key(t.meter_ref(other), row=a_key)
