"""Postpaid accounts: monthly bills, due dates, payments against bills, overdue → warning → cut-off,
and switching between prepaid and postpaid with settlement."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from prepay.billing import actions, supply
from prepay.billing.models import Bill
from prepay.customers.models import Account
from prepay.notify.models import Notification
from prepay.telemetry.models import MeterCommand
from prepay.vending import ledger
from tests.billing.conftest import at, meter_of, read, remote_account
from tests.helpers import refused


def evaluate(acc: Any) -> None:
    with transaction.atomic():
        supply.evaluate_supply(Account.objects.select_for_update().get(pk=acc.pk))


def kinds(acc: Any) -> list[str]:
    return list(
        MeterCommand.objects.filter(meter=meter_of(acc)).order_by("pk").values_list("kind", flat=True)
    )


class PostpaidTestCase:
    def test_it_bills_warns_cuts_and_closes_on_payment(self, world: Any) -> None:
        acc = remote_account(world.a1, billing="postpaid")
        m = meter_of(acc)
        read(m, at(2026, 3, 15), "100")
        read(m, at(2026, 4, 1), "150")
        [bill] = actions.do_issue_bills(site=world.a1.site, month=date(2026, 3, 1), actor=world.finance)
        assert bill.amount == Decimal("88.20") and bill.energy == Decimal("150")  # 150 × 0.588
        assert bill.settled_at is None and bill.due_date > timezone.localdate()
        assert kinds(acc) == []  # owing is normal for postpaid until the bill is overdue
        assert actions.do_issue_bills(site=world.a1.site, month=date(2026, 3, 1), actor=world.finance) == []
        Bill.objects.filter(pk=bill.pk).update(due_date=timezone.localdate() - timedelta(days=1))
        evaluate(acc)
        assert list(
            Notification.objects.filter(account=acc).order_by("pk").values_list("key", flat=True)
        ) == [
            "bill",
            "overdue",
        ]
        assert kinds(acc) == []
        Bill.objects.filter(pk=bill.pk).update(due_date=timezone.localdate() - timedelta(days=30))
        evaluate(acc)
        assert kinds(acc) == ["trip"]
        refused(
            "not_positive",
            actions.do_pay_bill,
            bill=bill,
            amount=Decimal("0"),
            actor=world.cashier,
            idempotency_key="k",
        )
        refused(
            "forbidden",
            actions.do_pay_bill,
            bill=bill,
            amount=Decimal("88.20"),
            actor=world.clerk,
            idempotency_key="k",
        )
        actions.do_pay_bill(bill=bill, amount=Decimal("50.00"), actor=world.cashier, idempotency_key="pay-1")
        assert Bill.objects.get(pk=bill.pk).settled_at is None and kinds(acc) == ["trip"]
        actions.do_pay_bill(bill=bill, amount=Decimal("38.20"), actor=world.cashier, idempotency_key="pay-2")
        actions.do_pay_bill(bill=bill, amount=Decimal("38.20"), actor=world.cashier, idempotency_key="pay-2")
        assert Bill.objects.get(pk=bill.pk).settled_at is not None
        assert ledger.balance_of(acc) == 0 and kinds(acc) == ["trip", "close"]
        refused(
            "settled",
            actions.do_pay_bill,
            bill=bill,
            amount=Decimal("1"),
            actor=world.cashier,
            idempotency_key="k3",
        )

    def test_it_switches_with_settlement(self, world: Any) -> None:
        acc = remote_account(world.a1)
        read(meter_of(acc), at(2026, 3, 15), "100")
        actions.do_switch_billing(account=acc, to="postpaid", actor=world.clerk)
        acc.refresh_from_db()
        assert acc.billing == "postpaid" and ledger.balance_of(acc) == Decimal("-58.80")
        refused("same_mode", actions.do_switch_billing, account=acc, to="postpaid", actor=world.clerk)
        refused("arrears", actions.do_switch_billing, account=acc, to="prepaid", actor=world.clerk)
        refused("invalid", actions.do_switch_billing, account=acc, to="barter", actor=world.clerk)
        refused("forbidden", actions.do_switch_billing, account=acc, to="prepaid", actor=world.cashier)
        refused("forbidden", actions.do_switch_billing, account=acc, to="prepaid", actor=world.clerk_b)
        from tests.billing.conftest import pay

        with transaction.atomic():
            pay(Account.objects.select_for_update().get(pk=acc.pk), "58.80", "settle")
        actions.do_switch_billing(account=acc, to="prepaid", actor=world.clerk)
        acc.refresh_from_db()
        [final] = Bill.objects.filter(account=acc)
        assert acc.billing == "prepaid" and final.amount == Decimal("58.80") and final.settled_at is not None

    def test_it_refuses_postpaid_for_a_local_meter(self, world: Any) -> None:
        from tests import factories as f

        acc = f.account(world.a1)
        refused("local_control", actions.do_switch_billing, account=acc, to="postpaid", actor=world.clerk)


class DoIssueBillsTestCase:
    def test_it_refuses_the_wrong_role_and_an_outsider(self, world: Any) -> None:
        site = world.a1.site
        refused("forbidden", actions.do_issue_bills, site=site, month=date(2026, 3, 1), actor=world.clerk)
        refused("forbidden", actions.do_issue_bills, site=site, month=date(2026, 3, 1), actor=world.clerk_b)

    def test_it_refuses_a_payment_from_an_outsider_and_without_a_key(self, world: Any) -> None:
        acc = remote_account(world.a1, billing="postpaid")
        read(meter_of(acc), at(2026, 3, 15), "10")
        [bill] = actions.do_issue_bills(site=world.a1.site, month=date(2026, 3, 1), actor=world.admin)
        kw = {"bill": bill, "amount": Decimal("1"), "actor": world.cashier, "idempotency_key": ""}
        refused("idempotency_key_required", actions.do_pay_bill, **kw)
        from prepay.tenancy.choices import Role
        from tests import factories as f

        outsider = f.user("cashier_b", memberships=[(world.b1.group, world.b1.site, Role.CASHIER)])
        refused("forbidden", actions.do_pay_bill, **{**kw, "actor": outsider, "idempotency_key": "x"})


class WhichAccountsHoldBillsTestCase:
    """A sale skips the bill lookup for an account that cannot hold bills (issue 17)."""

    def test_only_a_local_prepaid_account_can_never_hold_a_bill(self, world: Any) -> None:
        from tests import factories as f

        seen = {
            (mode, billing): actions.may_have_bills(f.account(world.a1, mode=mode, billing=billing))
            for mode in ("local", "remote")
            for billing in ("prepaid", "postpaid")
        }
        assert seen == {
            ("local", "prepaid"): False,
            ("local", "postpaid"): True,
            ("remote", "prepaid"): True,
            ("remote", "postpaid"): True,
        }

    def test_a_local_postpaid_accounts_bill_is_settled_by_its_payment(self, world: Any) -> None:
        from tests import factories as f
        from tests.billing.conftest import pay

        acc = f.account(world.a1, billing="postpaid")  # an import may open one so
        with transaction.atomic():
            locked = Account.objects.select_for_update().get(pk=acc.pk)
            ledger.post(locked, "fee", Decimal("-12.00"), actor=None, idempotency_key="fee-1")
            bill = actions.issue_bill(locked, date(2026, 11, 1), date(2026, 11, 30))
        assert bill is not None and bill.settled_at is None
        with transaction.atomic():
            pay(Account.objects.select_for_update().get(pk=acc.pk), "12.00", "pay-1")
            actions.settle_bills(Account.objects.select_for_update().get(pk=acc.pk))
        assert Bill.objects.get(pk=bill.pk).settled_at is not None
