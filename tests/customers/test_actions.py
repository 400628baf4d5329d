from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from prepay.audit.models import AuditEvent
from prepay.customers import actions as a
from prepay.customers.choices import AccountMode, AccountStatus, Utility
from prepay.meters.choices import MeterStatus
from prepay.vending import ledger
from prepay.vending import lifecycle as lc
from prepay.vending.models import EntryKind, LedgerEntry, Vend, VendStatus
from tests import factories as f
from tests.helpers import refused


def _credit(account, amount: str, actor) -> None:
    with transaction.atomic():
        ledger.post(account, EntryKind.PAYMENT, Decimal(amount), actor=actor)


class CreateCustomerTestCase:
    def test_it_registers_a_customer_with_an_audit_event(self, world):
        c = a.do_create_customer(
            site=world.a1.site,
            number="C-1",
            name=" Li Lei ",
            customer_type=world.a1.ctype,
            phone="13800000000",
            actor=world.clerk,
        )
        assert c.name == "Li Lei"
        ev = AuditEvent.objects.get(verb="customer.create")
        assert (ev.actor, ev.site_id, ev.object_id) == (world.clerk, world.a1.site.pk, str(c.pk))

    def test_it_refuses_a_duplicate_number(self, world):
        f.customer(world.a1, number="C-1")
        refused(
            "duplicate",
            a.do_create_customer,
            site=world.a1.site,
            number="C-1",
            name="X",
            customer_type=world.a1.ctype,
            actor=world.clerk,
        )

    def test_it_refuses_a_customer_type_of_another_group(self, world):
        refused(
            "wrong_group",
            a.do_create_customer,
            site=world.a1.site,
            number="C-2",
            name="X",
            customer_type=world.b1.ctype,
            actor=world.clerk,
        )

    def test_it_refuses_a_bad_email(self, world):
        refused(
            "invalid",
            a.do_create_customer,
            site=world.a1.site,
            number="C-3",
            name="X",
            customer_type=world.a1.ctype,
            email="not-an-email",
            actor=world.clerk,
        )

    def test_it_keeps_the_language_their_notifications_are_written_in(self, world):
        kw = {"site": world.a1.site, "name": "X", "customer_type": world.a1.ctype, "actor": world.clerk}
        c = a.do_create_customer(number="C-5", language="en", **kw)
        assert c.language == "en" and AuditEvent.objects.get(verb="customer.create").after["language"] == "en"
        refused("invalid", a.do_create_customer, number="C-6", language="fr", **kw)

    @pytest.mark.parametrize("who", ["cashier", "auditor", "clerk_a2", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, world, who):
        refused(
            "forbidden",
            a.do_create_customer,
            site=world.a1.site,
            number="C-4",
            name="X",
            customer_type=world.a1.ctype,
            actor=getattr(world, who),
        )


class OpenAccountTestCase:
    def test_it_opens_an_account_with_a_generated_number(self, world):
        c = f.customer(world.a1)
        acc = a.do_open_account(
            customer=c, unit=world.a1.units[1], mode=AccountMode.REMOTE, actor=world.clerk
        )
        assert acc.number == "A1-000001"
        assert (acc.status, acc.mode, acc.site) == (AccountStatus.OPEN, AccountMode.REMOTE, world.a1.site)
        assert acc.effective_tariff() == world.a1.tariff
        assert AuditEvent.objects.filter(verb="account.open", object_id=str(acc.pk)).count() == 1

    def test_it_refuses_a_unit_that_already_has_an_open_account(self, world):
        f.account(world.a1, unit=world.a1.units[0])
        refused(
            "unit_taken",
            a.do_open_account,
            customer=f.customer(world.a1),
            unit=world.a1.units[0],
            actor=world.clerk,
        )

    def test_it_allows_water_beside_electricity_on_one_unit(self, world):
        f.account(world.a1, unit=world.a1.units[0])
        acc = a.do_open_account(
            customer=f.customer(world.a1), unit=world.a1.units[0], utility=Utility.WATER, actor=world.clerk
        )
        assert acc.effective_tariff() == world.a1.water_tariff

    def test_it_refuses_a_unit_of_another_site(self, world):
        refused(
            "wrong_site",
            a.do_open_account,
            customer=f.customer(world.a1),
            unit=world.a2.units[0],
            actor=world.clerk,
        )

    def test_it_refuses_a_tariff_for_the_wrong_utility(self, world):
        refused(
            "wrong_tariff",
            a.do_open_account,
            customer=f.customer(world.a1),
            unit=world.a1.units[1],
            tariff=world.a1.water_tariff,
            actor=world.clerk,
        )

    def test_it_refuses_unknown_modes(self, world):
        refused(
            "invalid",
            a.do_open_account,
            customer=f.customer(world.a1),
            unit=world.a1.units[1],
            mode="magic",
            actor=world.clerk,
        )

    def test_it_refuses_a_taken_account_number(self, world):
        acc = f.account(world.a1, unit=world.a1.units[0])
        refused(
            "duplicate",
            a.do_open_account,
            customer=f.customer(world.a1),
            unit=world.a1.units[1],
            number=acc.number,
            actor=world.clerk,
        )

    @pytest.mark.parametrize("who", ["cashier", "finance", "auditor", "clerk_a2", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, world, who):
        refused(
            "forbidden",
            a.do_open_account,
            customer=f.customer(world.a1),
            unit=world.a1.units[1],
            actor=getattr(world, who),
        )


class TransferAccountTestCase:
    def test_it_moves_the_account_and_refunds_the_old_owner(self, world):
        acc = f.account(world.a1, meter_=world.a1.meters[0], mode=AccountMode.REMOTE)
        old = acc.customer
        _credit(acc, "80.50", world.cashier)
        new = f.customer(world.a1)
        lc.do_transfer_account(account=acc, new_customer=new, reading=Decimal("150.2"), actor=world.clerk)
        acc.refresh_from_db()
        assert acc.customer == new
        assert ledger.balance_of(acc) == Decimal("0.00")
        entry = LedgerEntry.objects.get(account=acc, kind=EntryKind.TRANSFER)
        assert entry.amount == Decimal("-80.50")
        ev = AuditEvent.objects.get(verb="account.transfer")
        assert ev.after["previous_customer"] == old.number and ev.after["reading"] == "150.200"
        assert ev.before["customer_id"] == old.pk

    def test_it_can_leave_the_balance_with_the_account(self, world):
        acc = f.account(world.a1, mode=AccountMode.REMOTE)
        _credit(acc, "10", world.cashier)
        lc.do_transfer_account(
            account=acc,
            new_customer=f.customer(world.a1),
            reading=Decimal("0"),
            refund_balance=False,
            actor=world.clerk,
        )
        assert ledger.balance_of(acc) == Decimal("10.00")

    def test_it_refuses_arrears(self, world):
        acc = f.account(world.a1, mode=AccountMode.REMOTE)
        _credit(acc, "-5", world.cashier)
        refused(
            "arrears",
            lc.do_transfer_account,
            account=acc,
            new_customer=f.customer(world.a1),
            reading=Decimal("0"),
            actor=world.clerk,
        )

    def test_it_refuses_the_same_customer_and_another_sites_customer(self, world):
        acc = f.account(world.a1)
        refused(
            "same_customer",
            lc.do_transfer_account,
            account=acc,
            new_customer=acc.customer,
            reading=Decimal("0"),
            actor=world.clerk,
        )
        refused(
            "wrong_site",
            lc.do_transfer_account,
            account=acc,
            new_customer=f.customer(world.a2),
            reading=Decimal("0"),
            actor=world.clerk,
        )

    def test_it_refuses_a_reading_below_the_opening_reading(self, world):
        acc = f.account(world.a1, meter_=world.a1.meters[0])  # opening reading 100
        refused(
            "reading_backwards",
            lc.do_transfer_account,
            account=acc,
            new_customer=f.customer(world.a1),
            reading=Decimal("99.9"),
            actor=world.clerk,
        )

    def test_it_refuses_while_a_reversal_awaits_approval(self, world):
        acc = f.account(world.a1)
        Vend.objects.create(account=acc, amount=Decimal("50"), status=VendStatus.PENDING_APPROVAL)
        refused(
            "pending_approval",
            lc.do_transfer_account,
            account=acc,
            new_customer=f.customer(world.a1),
            reading=Decimal("0"),
            actor=world.clerk,
        )

    @pytest.mark.parametrize("who", ["cashier", "auditor", "clerk_a2", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, world, who):
        acc = f.account(world.a1)
        refused(
            "forbidden",
            lc.do_transfer_account,
            account=acc,
            new_customer=f.customer(world.a1),
            reading=Decimal("0"),
            actor=getattr(world, who),
        )


class CloseAccountTestCase:
    def test_it_settles_refunds_and_releases_the_meter(self, world):
        m = world.a1.meters[0]
        acc = f.account(world.a1, meter_=m)
        _credit(acc, "3.00", world.cashier)
        refunded = lc.do_close_account(
            account=acc, final_reading=Decimal("180"), remaining_credit=Decimal("10"), actor=world.clerk
        )
        # 10 kWh left on the meter at 0.5880/kWh = 5.88 returned, plus 3.00 already on the account
        assert refunded == Decimal("8.88")
        acc.refresh_from_db()
        m.refresh_from_db()
        assert acc.status == AccountStatus.CLOSED and acc.closed_at is not None
        assert m.status == MeterStatus.IN_STOCK
        inst = acc.installations.get()
        assert (inst.closing_reading, inst.credit_left) == (Decimal("180.000"), Decimal("10.000"))
        kinds = list(LedgerEntry.objects.filter(account=acc).values_list("kind", "amount"))
        assert kinds[-2:] == [
            (EntryKind.CREDIT_RETURN, Decimal("5.88")),
            (EntryKind.REFUND, Decimal("-8.88")),
        ]
        assert ledger.balance_of(acc) == Decimal("0.00")
        assert AuditEvent.objects.filter(verb="account.close").get().after["refunded"] == "8.88"

    def test_it_refuses_an_account_with_a_vend_under_approval(self, world):
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        Vend.objects.create(account=acc, amount=Decimal("50"), status=VendStatus.PENDING_APPROVAL)
        refused(
            "pending_approval",
            lc.do_close_account,
            account=acc,
            final_reading=Decimal("150"),
            actor=world.clerk,
        )

    def test_it_refuses_arrears(self, world):
        acc = f.account(world.a1, mode=AccountMode.REMOTE)
        _credit(acc, "-12.34", world.cashier)
        refused("arrears", lc.do_close_account, account=acc, final_reading=Decimal("0"), actor=world.clerk)

    def test_it_refuses_closing_twice(self, world):
        acc = f.account(world.a1)
        lc.do_close_account(account=acc, final_reading=Decimal("0"), actor=world.clerk)
        refused("closed", lc.do_close_account, account=acc, final_reading=Decimal("0"), actor=world.clerk)

    def test_it_refuses_a_final_reading_below_the_opening_reading(self, world):
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        refused(
            "reading_backwards",
            lc.do_close_account,
            account=acc,
            final_reading=Decimal("50"),
            actor=world.clerk,
        )

    def test_it_refuses_negative_credit_and_credit_on_a_remote_account(self, world):
        acc = f.account(world.a1)
        refused(
            "invalid",
            lc.do_close_account,
            account=acc,
            final_reading=Decimal("0"),
            remaining_credit=Decimal("-1"),
            actor=world.clerk,
        )
        remote = f.account(world.a1, unit=world.a1.units[1], mode=AccountMode.REMOTE)
        refused(
            "invalid",
            lc.do_close_account,
            account=remote,
            final_reading=Decimal("0"),
            remaining_credit=Decimal("1"),
            actor=world.clerk,
        )

    @pytest.mark.parametrize("who", ["cashier", "finance", "auditor", "clerk_a2", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, world, who):
        acc = f.account(world.a1)
        refused(
            "forbidden",
            lc.do_close_account,
            account=acc,
            final_reading=Decimal("0"),
            actor=getattr(world, who),
        )
