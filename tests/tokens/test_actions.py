from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from prepay.audit.models import AuditEvent
from prepay.domain.tokens.sts import api as sts
from prepay.domain.tokens.sts.meter import MeterDecoder
from prepay.domain.tokens.sts.tid import tid_from_datetime
from prepay.meters.choices import MeterStatus
from prepay.meters.models import Meter
from prepay.tokens import actions as t
from prepay.tokens.models import IssuedToken, KeyChange, MeterTokenState, TokenKind, VendingKey
from tests import factories as f
from tests.helpers import refused
from tests.tokens.conftest import CTSA01_DK, CTSA01_VK

AT = timezone.make_aware(datetime(2026, 11, 23, 9, 30))
AT_1993 = timezone.make_aware(datetime(2023, 6, 1, 9, 30))  # inside the 1993 TID range (ends Nov 2024)


@pytest.fixture
def sts_meter(world, store):
    t.do_import_vending_keys(
        group=world.a1.group,
        actor=world.admin,
        rows=[
            {
                "label": "utility VUDK",
                "dkga": "02",
                "supply_group_code": "123456",
                "key_revision": 1,
                "key_type": 2,
                "key": CTSA01_VK,
            },
            {
                "label": "utility VUDK r2",
                "dkga": "02",
                "supply_group_code": "123456",
                "key_revision": 2,
                "key_type": 2,
                "key": "0123456789ABCDEF",
            },
        ],
    )
    return f.meter(
        world.a1, drn="00000000000", supply_group_code="123456", tariff_index="01", key_revision=1, key_type=2
    )


def meter_decoder(dk_hex: str, base_date: int = 2014) -> MeterDecoder:
    return MeterDecoder(decoder_key=int(dk_hex, 16), base_date=base_date)


class DecoderKeyTestCase:
    def test_it_derives_the_known_answer_decoder_key_from_the_encrypted_store(self, sts_meter, store):
        assert store.decoder_key(t.meter_ref(sts_meter)).hex() == CTSA01_DK


class CreditTokenTestCase:
    def test_it_issues_records_and_audits_a_token_the_meter_accepts_once(self, world, sts_meter):
        row = t.do_issue_credit_token(
            meter=sts_meter, amount=Decimal("25.6"), actor=world.cashier, reason="vend", at=AT
        )
        local = timezone.localtime(AT).replace(tzinfo=None)
        assert row.tid == tid_from_datetime(local, 2014)
        assert (row.kind, row.token_class, row.subclass, row.amount) == (
            TokenKind.CREDIT,
            0,
            0,
            Decimal("25.6"),
        )
        assert row.created_by == world.cashier and len(row.token) == 20
        decoded = sts.decode(row.token, CTSA01_DK)
        assert (decoded.tid, decoded.amount) == (row.tid, Decimal("25.6"))  # type: ignore[union-attr]
        meter = meter_decoder(CTSA01_DK)
        assert meter.enter(row.token).accepted
        assert meter.enter(row.token).code == "used"
        assert AuditEvent.objects.get(verb="token.credit").after["tid"] == row.tid

    def test_it_gives_tokens_in_one_minute_the_next_free_minutes(self, world, sts_meter):
        tids = [
            t.do_issue_credit_token(
                meter=sts_meter, amount=Decimal("1"), actor=world.cashier, reason="vend", at=AT
            ).tid
            for _ in range(4)
        ]
        assert tids == list(range(tids[0], tids[0] + 4))
        assert MeterTokenState.objects.get(meter=sts_meter).last_tid == tids[-1]
        meter = meter_decoder(CTSA01_DK)
        assert all(meter.enter(tok.token).accepted for tok in IssuedToken.objects.order_by("tid"))
        assert meter.credit(0) == Decimal("4")

    def test_it_never_goes_back_to_an_earlier_minute(self, world, sts_meter):
        first = t.do_issue_credit_token(
            meter=sts_meter, amount=Decimal("1"), actor=world.cashier, reason="x", at=AT
        )
        earlier = t.do_issue_credit_token(
            meter=sts_meter,
            amount=Decimal("1"),
            actor=world.cashier,
            reason="x",
            at=AT.replace(hour=AT.hour - 1),
        )
        assert first.tid is not None
        assert earlier.tid == first.tid + 1

    def test_it_rounds_in_the_customers_favour(self, world, sts_meter):
        row = t.do_issue_credit_token(
            meter=sts_meter, amount=Decimal("10.01"), actor=world.cashier, reason="x", at=AT
        )
        assert row.amount == Decimal("10.1")

    def test_it_lets_a_clerk_load_carried_over_credit(self, world, sts_meter):
        assert t.do_issue_credit_token(
            meter=sts_meter, amount=Decimal("5"), actor=world.clerk, reason="换表", at=AT
        )

    def test_it_refuses_bad_amounts_without_using_a_tid(self, world, sts_meter):
        refused(
            "invalid_amount",
            t.do_issue_credit_token,
            meter=sts_meter,
            amount=Decimal("0"),
            actor=world.cashier,
            reason="x",
        )
        refused(
            "amount_too_large",
            t.do_issue_credit_token,
            meter=sts_meter,
            amount=Decimal("2000000"),
            actor=world.cashier,
            reason="x",
            at=AT,
        )
        assert not MeterTokenState.objects.filter(meter=sts_meter, last_tid__isnull=False).exists()

    def test_it_refuses_meters_that_cannot_take_the_token(self, world, sts_meter):
        Meter.objects.filter(pk=sts_meter.pk).update(status=MeterStatus.FAULTY)
        refused(
            "meter_unusable",
            t.do_issue_credit_token,
            meter=sts_meter,
            amount=Decimal("1"),
            actor=world.cashier,
            reason="x",
        )
        refused(
            "sts_parameters_missing",
            t.do_issue_credit_token,
            meter=world.a1.meters[0],
            amount=Decimal("1"),
            actor=world.cashier,
            reason="x",
        )
        water = f.meter(
            world.a1, world.a1.water, drn="00000000000", supply_group_code="123456", tariff_index="01"
        )
        refused(
            "not_sts",
            t.do_issue_credit_token,
            meter=water,
            amount=Decimal("1"),
            actor=world.cashier,
            reason="x",
        )

    def test_it_refuses_a_meter_without_a_vending_key(self, world, sts_meter):
        Meter.objects.filter(pk=sts_meter.pk).update(supply_group_code="654321")
        refused(
            "no_vending_key",
            t.do_issue_credit_token,
            meter=sts_meter,
            amount=Decimal("1"),
            actor=world.cashier,
            reason="x",
        )

    def test_it_refuses_a_missing_reason(self, world, sts_meter):
        refused(
            "reason_required",
            t.do_issue_credit_token,
            meter=sts_meter,
            amount=Decimal("1"),
            actor=world.cashier,
            reason=" ",
        )

    @pytest.mark.parametrize("who", ["finance", "auditor", "clerk_a2", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, world, sts_meter, who):
        refused(
            "forbidden",
            t.do_issue_credit_token,
            meter=sts_meter,
            amount=Decimal("1"),
            actor=getattr(world, who),
            reason="x",
        )


class ManagementTokenTestCase:
    def test_it_issues_a_clear_tamper_token_the_meter_applies(self, world, sts_meter):
        row = t.do_issue_management_token(
            meter=sts_meter, kind="clear_tamper", value=0, actor=world.clerk, reason="site visit", at=AT
        )
        meter = meter_decoder(CTSA01_DK)
        meter.tamper = True
        assert meter.enter(row.token).accepted and meter.tamper is False
        assert (row.kind, row.token_class, row.subclass) == (TokenKind.MANAGEMENT, 2, 5)

    def test_it_refuses_unknown_kinds_and_cashiers(self, world, sts_meter):
        refused(
            "invalid",
            t.do_issue_management_token,
            meter=sts_meter,
            kind="free_power",
            value=0,
            actor=world.clerk,
            reason="x",
        )
        refused(
            "forbidden",
            t.do_issue_management_token,
            meter=sts_meter,
            kind="clear_credit",
            value=0,
            actor=world.cashier,
            reason="x",
        )
        refused(
            "forbidden",
            t.do_issue_management_token,
            meter=sts_meter,
            kind="clear_credit",
            value=0,
            actor=world.clerk_b,
            reason="x",
        )


class KeyChangeTestCase:
    def test_it_moves_the_meter_to_a_new_key_revision(self, world, sts_meter, store):
        meter = meter_decoder(CTSA01_DK)
        change = t.do_change_meter_key(
            meter=sts_meter, key_revision=2, actor=world.clerk, reason="annual re-key"
        )
        tokens = list(change.tokens.order_by("pk"))
        assert len(tokens) == 2 and change.rollover is False
        results = [meter.enter(tok.token) for tok in tokens]
        assert results[-1].code == "key_changed", results
        sts_meter.refresh_from_db()
        assert sts_meter.key_revision == 2
        new_dk = store.decoder_key(t.meter_ref(sts_meter)).hex()
        assert new_dk != CTSA01_DK and f"{meter.decoder_key:016X}" == new_dk
        credit = t.do_issue_credit_token(
            meter=sts_meter, amount=Decimal("3"), actor=world.cashier, reason="x", at=AT
        )
        assert meter.enter(credit.token).accepted
        assert AuditEvent.objects.filter(verb="token.key_change").get().after["new"]["key_revision"] == 2

    def test_it_sets_rollover_and_restarts_tids_on_a_new_base_date(self, world, sts_meter):
        Meter.objects.filter(pk=sts_meter.pk).update(base_date=1993)
        old = t.do_issue_credit_token(
            meter=sts_meter, amount=Decimal("1"), actor=world.cashier, reason="x", at=AT_1993
        )
        refused(
            "tid_exhausted",
            t.do_issue_credit_token,
            meter=sts_meter,
            amount=Decimal("1"),
            actor=world.cashier,
            reason="x",
            at=AT,
        )
        change = t.do_change_meter_key(
            meter=sts_meter, base_date=2014, actor=world.clerk, reason="TID rollover"
        )
        assert change.rollover and change.old["base_date"] == 1993 and change.new["base_date"] == 2014
        meter = meter_decoder(CTSA01_DK, base_date=1993)
        assert meter.enter(old.token).accepted
        assert [meter.enter(tok.token).code for tok in change.tokens.order_by("pk")][-1] == "key_changed"
        assert meter.tids == []
        meter.base_date = 2014  # a DKGA02 meter learns the base date from its configuration
        new = t.do_issue_credit_token(
            meter=sts_meter, amount=Decimal("1"), actor=world.cashier, reason="x", at=AT
        )
        assert new.tid == tid_from_datetime(timezone.localtime(AT).replace(tzinfo=None), 2014) < old.tid
        assert meter.enter(new.token).accepted

    def test_it_refuses_nonsense(self, world, sts_meter):
        refused(
            "no_change", t.do_change_meter_key, meter=sts_meter, key_revision=1, actor=world.clerk, reason="x"
        )
        refused("invalid", t.do_change_meter_key, meter=sts_meter, colour=2, actor=world.clerk, reason="x")
        refused(
            "invalid",
            t.do_change_meter_key,
            meter=sts_meter,
            tariff_index="7X",
            actor=world.clerk,
            reason="x",
        )
        refused(
            "invalid", t.do_change_meter_key, meter=sts_meter, key_revision=12, actor=world.clerk, reason="x"
        )
        refused(
            "no_vending_key",
            t.do_change_meter_key,
            meter=sts_meter,
            key_revision=3,
            actor=world.clerk,
            reason="x",
        )
        refused(
            "base_date_backwards",
            t.do_change_meter_key,
            meter=sts_meter,
            base_date=1993,
            actor=world.clerk,
            reason="x",
        )
        assert not KeyChange.objects.exists()

    @pytest.mark.parametrize("who", ["cashier", "finance", "clerk_a2", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, world, sts_meter, who):
        refused(
            "forbidden",
            t.do_change_meter_key,
            meter=sts_meter,
            key_revision=2,
            actor=getattr(world, who),
            reason="x",
        )


class ReprintTestCase:
    def test_it_reprints_the_same_token_without_a_new_tid(self, world, sts_meter):
        row = t.do_issue_credit_token(
            meter=sts_meter, amount=Decimal("7"), actor=world.cashier, reason="x", at=AT
        )
        again = t.do_reprint_token(token=row, actor=world.cashier)
        assert (again.pk, again.token, again.tid) == (row.pk, row.token, row.tid)
        assert IssuedToken.objects.count() == 1
        assert AuditEvent.objects.filter(verb="token.reprint").count() == 1

    def test_it_refuses_outsiders(self, world, sts_meter):
        row = t.do_issue_credit_token(
            meter=sts_meter, amount=Decimal("7"), actor=world.cashier, reason="x", at=AT
        )
        refused("forbidden", t.do_reprint_token, token=row, actor=world.clerk_b)


class ImportKeysTestCase:
    def test_it_stores_keys_encrypted_and_audits_without_the_key(self, world, store):
        [vk] = t.do_import_vending_keys(
            group=world.a1.group,
            actor=world.admin,
            rows=[
                {
                    "dkga": "04",
                    "supply_group_code": "201457",
                    "key_revision": 1,
                    "key_type": 2,
                    "key": "ABABABABABABABAB949494949494949401234567",
                }
            ],
        )
        assert bytes.fromhex("ABABABABABABABAB949494949494949401234567") not in bytes(vk.ciphertext)
        ev = AuditEvent.objects.get(verb="keys.import")
        assert "key" not in ev.after and ev.after["supply_group_code"] == "201457"

    def test_it_imports_all_or_nothing(self, world, store):
        rows = [
            {"dkga": "02", "supply_group_code": "111111", "key_revision": 1, "key_type": 2, "key": "00" * 8},
            {"dkga": "02", "supply_group_code": "111111", "key_revision": 2, "key_type": 2, "key": "zz" * 8},
        ]
        refused("invalid", t.do_import_vending_keys, group=world.a1.group, actor=world.admin, rows=rows)
        assert not VendingKey.objects.exists()

    def test_it_refuses_duplicates_short_keys_and_bad_slots(self, world, store):
        good = {
            "dkga": "02",
            "supply_group_code": "111111",
            "key_revision": 1,
            "key_type": 2,
            "key": "00" * 8,
        }
        t.do_import_vending_keys(group=world.a1.group, actor=world.admin, rows=[good])
        refused("duplicate", t.do_import_vending_keys, group=world.a1.group, actor=world.admin, rows=[good])
        refused(
            "invalid",
            t.do_import_vending_keys,
            group=world.a1.group,
            actor=world.admin,
            rows=[good | {"key_revision": 2, "key": "00" * 7}],
        )
        refused(
            "invalid",
            t.do_import_vending_keys,
            group=world.a1.group,
            actor=world.admin,
            rows=[good | {"supply_group_code": "12345"}],
        )

    @pytest.mark.parametrize("who", ["clerk", "finance", "cashier", "clerk_b"])
    def test_it_refuses_anyone_but_a_group_admin(self, world, store, who):
        refused(
            "forbidden", t.do_import_vending_keys, group=world.a1.group, actor=getattr(world, who), rows=[]
        )
