"""Shifts and cash-up: expected vs declared per payment method, the difference recorded."""

from __future__ import annotations

from decimal import Decimal

from prepay.audit.models import AuditEvent
from prepay.vending.actions import do_close_shift, do_open_shift, shift_summary
from prepay.vending.models import ShiftStatus
from tests import factories as f
from tests.helpers import refused
from tests.vending.test_vend import sell


class ShiftTestCase:
    def test_it_closes_with_the_difference_per_method(self, shop):
        shift = shop.shift
        sell(shop, amount="50.00")
        sell(shop, amount="20.00")
        sell(shop, amount="30.00", method="card")
        sell(shop, amount="12.00", method="online", reference="WX-1")
        summary = shift_summary(shift)
        assert summary["expected"]["cash"] == Decimal("70.00") and summary["counts"]["cash"] == 2
        closed = do_close_shift(
            shift=shift,
            actor=shop.world.cashier,
            declared={"cash": "69.50", "card": "30.00", "online": "12.00"},
        )
        assert closed.status == ShiftStatus.CLOSED
        assert closed.difference == {"cash": "-0.50", "card": "0.00", "transfer": "0.00", "online": "0.00"}
        assert AuditEvent.objects.filter(verb="shift.close").get().after["difference"]["cash"] == "-0.50"
        refused("no_open_shift", sell, shop=shop)

    def test_the_opening_float_is_expected_in_the_drawer(self, shop):
        do_close_shift(shift=shop.shift, actor=shop.world.cashier, declared={"cash": "0"})
        shift = do_open_shift(point=shop.point, actor=shop.world.cashier, opening_float="200.00")
        sell(shop, amount="10.00", shift=shift)
        assert shift_summary(shift)["expected"]["cash"] == Decimal("210.00")

    def test_refusals(self, shop):
        refused("shift_already_open", do_open_shift, point=shop.point, actor=shop.world.cashier)
        refused("forbidden", do_open_shift, point=shop.point, actor=shop.world.clerk)
        refused(
            "not_a_counter",
            do_open_shift,
            point=shop.agent,
            actor=f.user(memberships=[(shop.world.a1.group, shop.world.a1.site, "cashier")]),
        )
        other = f.user(memberships=[(shop.world.a1.group, shop.world.a1.site, "cashier")])
        refused("not_your_shift", do_close_shift, shift=shop.shift, actor=other, declared={})
        refused(
            "invalid_method",
            do_close_shift,
            shift=shop.shift,
            actor=shop.world.cashier,
            declared={"bitcoin": "1"},
        )
        refused(
            "invalid_amount",
            do_close_shift,
            shift=shop.shift,
            actor=shop.world.cashier,
            declared={"cash": "-1"},
        )
        do_close_shift(shift=shop.shift, actor=shop.world.cashier, declared={})
        refused("shift_closed", do_close_shift, shift=shop.shift, actor=shop.world.cashier, declared={})


class ShiftVoidTestCase:
    """A reversal approved while the shift is open is a void: the drawer pays it back."""

    def test_it_expects_no_money_for_a_typo_voided_while_the_shift_is_open(self, shop):
        from prepay.customers.choices import AccountMode
        from prepay.vending.actions import do_approve_reversal, do_request_reversal

        site = shop.world.a1.site
        site.max_sale_amount = Decimal("2000000000.00")
        site.max_daily_amount = Decimal("2000000000.00")
        site.save()
        sell(shop, amount="500.00")
        sell(shop, amount="180.00")
        remote = shop.sts_account(mode=AccountMode.REMOTE)
        typo = sell(shop, account=remote, amount="1000000000.00")
        r = do_request_reversal(vend=typo, actor=shop.world.cashier, reason="typo", token_entered=False)
        do_approve_reversal(reversal=r, actor=shop.world.finance)
        summary = shift_summary(shop.shift)
        assert summary["expected"]["cash"] == Decimal("680.00")
        assert summary["sales"]["cash"] == Decimal("1000000680.00")
        assert summary["voids"]["cash"] == Decimal("1000000000.00") and summary["void_counts"]["cash"] == 1
        closed = do_close_shift(shift=shop.shift, actor=shop.world.cashier, declared={"cash": "680.00"})
        assert closed.expected["cash"] == "680.00" and closed.difference["cash"] == "0.00"
