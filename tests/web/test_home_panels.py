"""The home page's panels (``prepay.web.home``): each role finds its own work, with the right figures,
and never another role's panel or another group's rows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone

from prepay.customers.choices import AccountMode
from prepay.meters import actions as meter_actions
from prepay.telemetry.models import CommandKind, CommandStatus, MeterCommand
from prepay.tenancy.models import Role
from prepay.vending.actions import do_vend
from prepay.vending.adjustments import do_request_adjustment
from prepay.vending.models import CreditDelivery, VendingPoint
from prepay.vending.reversals import do_approve_reversal, do_request_reversal
from prepay.vending.shifts import do_open_shift
from tests import factories as f
from tests.counter.conftest import client_for
from tests.vending.conftest import shop, store

#: the vending tests' ready counter (an open shift at site a1), used here as the fixture ``shop``
FIXTURES = (shop, store)

PANELS = ('id="home-shift"', 'id="home-finance"', 'id="home-pending"')


def home(user: Any) -> str:
    r = client_for(user).get("/")
    assert r.status_code == 200
    return r.content.decode()


def panels_in(html: str) -> set[str]:
    return {p for p in PANELS if p in html}


def sell(shop: Any, amount: str, method: str = "cash", **kw: Any) -> Any:
    n = sell.n = getattr(sell, "n", 0) + 1  # type: ignore[attr-defined]
    return do_vend(
        account=kw.pop("account", shop.account),
        actor=kw.pop("actor", shop.world.cashier),
        point=kw.pop("point", shop.point),
        idempotency_key=f"home-{n}-{id(shop)}",
        amount=amount,
        method=method,
        reference="ref-1" if method in ("transfer", "online") else "",
        **kw,
    )


class CashierPanelTestCase:
    def test_without_a_shift_it_offers_to_open_one_and_no_other_panel(self, world: Any) -> None:
        VendingPoint.objects.create(site=world.a1.site, code="c1", name="Counter 1")
        VendingPoint.objects.create(site=world.a2.site, code="c2", name="Counter Elsewhere")
        VendingPoint.objects.create(site=world.b1.site, code="c3", name="Counter Other Group")
        html = home(world.cashier)
        assert "Counter Elsewhere" not in html and "Counter Other Group" not in html
        assert panels_in(html) == {'id="home-shift"'}
        assert 'id="home-no-shift"' in html and 'id="home-shift-form"' in html
        assert 'action="/counter/shift/open/"' in html
        assert "Counter 1" in html  # the point offered in the open-shift form

    def test_with_a_shift_it_shows_where_since_and_takings_net_of_voids(self, clock: Any, shop: Any) -> None:
        world = shop.world
        sell(shop, "100", "cash")
        voided = sell(shop, "40", "cash", account=shop.sts_account(mode=AccountMode.REMOTE))
        sell(shop, "50", "card")
        rev = do_request_reversal(vend=voided, actor=world.cashier, reason="paid twice", token_entered=False)
        do_approve_reversal(reversal=rev, actor=world.finance)  # while the shift is open: a void
        html = home(world.cashier)
        assert panels_in(html) == {'id="home-shift"'}
        assert 'id="home-no-shift"' not in html
        assert "Shift at Counter 1 since" in html
        # cash 100 + 40 − the 40 voided, card 50
        assert '<p class="big num" id="home-takings" data-testid="home-takings">¥150.00</p>' in html
        assert '<dt>Cash</dt><dd class="num">¥100.00</dd>' in html
        assert '<dt>Bank card</dt><dd class="num">¥50.00</dd>' in html
        assert "Bank transfer" not in html.split('id="home-takings-by-method"')[1].split("</dl>")[0]
        assert "3 sales so far" in html

    def test_another_cashiers_sales_are_not_in_my_takings(self, clock: Any, shop: Any) -> None:
        world = shop.world
        other = f.user("cashier_two", memberships=[(world.a1.group, world.a1.site, Role.CASHIER)])
        point2 = VendingPoint.objects.create(site=world.a1.site, code="c2", name="Counter 2")
        do_open_shift(point=point2, actor=other)
        sell(shop, "100", "cash")
        sell(shop, "7", "cash", actor=other, point=point2)
        html = home(other)
        assert (
            "Shift at Counter 2 since" in html
            and 'id="home-takings" data-testid="home-takings">¥7.00<' in html
        )


class FinancePanelTestCase:
    def test_it_shows_todays_takings_net_of_reversals_and_the_requests_waiting(
        self, clock: Any, shop: Any
    ) -> None:
        world = shop.world
        sell(shop, "100", "cash")
        reversed_ = sell(shop, "40", "cash")
        pending = sell(shop, "25", "card")
        rev = do_request_reversal(
            vend=reversed_, actor=world.cashier, reason="wrong account", token_entered=False
        )
        do_approve_reversal(reversal=rev, actor=world.finance)
        do_request_reversal(vend=pending, actor=world.cashier, reason="paid twice", token_entered=False)
        do_request_adjustment(account=shop.account, actor=world.clerk, reason="meter fault", amount="12")
        # another group's sale and request: never counted
        b = world.b1
        b_clerk = f.user("clerk_b_adj", memberships=[(b.group, b.site, Role.CLERK)])
        do_request_adjustment(account=f.account(b), actor=b_clerk, reason="x", amount="5")
        html = home(world.finance)
        assert panels_in(html) == {'id="home-finance"'}
        assert 'id="home-today-total" data-testid="home-today-total">¥125.00<' in html
        assert "2 sales today" in html  # the reversed sale no longer stands
        assert f'href="{reverse("reports:dashboard")}" id="home-dashboard"' in html
        assert (
            f'href="{reverse("counter:approvals")}" id="home-approvals">2 requests await your decision<'
            in html
        )

    def test_my_own_requests_do_not_wait_for_my_decision(self, world: Any) -> None:
        both = f.user(
            "clerk_and_finance",
            memberships=[(world.a1.group, world.a1.site, Role.CLERK), (world.a1.group, None, Role.FINANCE)],
        )
        acc = f.account(world.a1)
        do_request_adjustment(account=acc, actor=both, reason="mine", amount="2")
        html = home(both)
        assert 'id="home-approvals"' not in html
        do_request_adjustment(account=acc, actor=world.clerk, reason="theirs", amount="3")
        assert "1 request awaits your decision" in home(both)

    def test_nothing_waiting_hides_the_approvals_link(self, world: Any, clock: Any) -> None:
        html = home(world.finance)
        assert 'id="home-today-total" data-testid="home-today-total">¥0.00<' in html
        assert 'id="home-approvals"' not in html

    def test_an_auditor_sees_takings_but_no_decisions_to_make(self, clock: Any, shop: Any) -> None:
        sell(shop, "30", "cash")
        do_request_adjustment(account=shop.account, actor=shop.world.clerk, reason="x", amount="3")
        html = home(shop.world.auditor)
        assert panels_in(html) == {'id="home-finance"'}
        assert ">¥30.00<" in html and 'id="home-approvals"' not in html

    def test_takings_are_those_of_my_sites_only(self, clock: Any, shop: Any) -> None:
        world = shop.world
        sell(shop, "30", "cash")  # at site a1
        a2_auditor = f.user("auditor_a2", memberships=[(world.a1.group, world.a2.site, Role.AUDITOR)])
        b_finance = f.user("finance_b", memberships=[(world.b1.group, None, Role.FINANCE)])
        for outsider in (a2_auditor, b_finance):
            html = home(outsider)
            assert 'id="home-today-total" data-testid="home-today-total">¥0.00<' in html
            assert "0 sales today" in html


class ClerkPanelTestCase:
    def test_nothing_pending(self, world: Any) -> None:
        html = home(world.clerk)
        assert panels_in(html) == {'id="home-pending"'}
        assert 'id="home-nothing-pending"' in html

    def test_it_lists_my_requests_deliveries_and_failed_commands_only(self, clock: Any, shop: Any) -> None:
        world = shop.world
        vend = sell(shop, "20", "cash")
        mine_rev = do_request_reversal(vend=vend, actor=world.clerk, reason="wrong", token_entered=False)
        mine_adj = do_request_adjustment(account=shop.account, actor=world.clerk, reason="fault", amount="9")
        # a colleague's request at the same site is not "mine"
        colleague = f.user("clerk_a1b", memberships=[(world.a1.group, world.a1.site, Role.CLERK)])
        theirs = do_request_adjustment(account=shop.account, actor=colleague, reason="x", amount="4")
        # a carried credit still to deliver (换表 on an account at my site)
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        meter_actions.do_replace_meter(
            account=acc,
            new_meter=world.a1.meters[1],
            old_closing_reading=Decimal("150"),
            remaining_credit=Decimal("5"),
            new_opening_reading=Decimal("0"),
            actor=world.clerk,
            reason="broken",
        )
        delivery = CreditDelivery.objects.get(account=acc)
        # a failed remote command at my site, and one in another group
        failed = MeterCommand.objects.create(
            meter=world.a1.meters[2],
            kind=CommandKind.TRIP,
            status=CommandStatus.FAILED,
            next_attempt_at=timezone.now(),
            error="no answer",
        )
        outside = MeterCommand.objects.create(
            meter=world.b1.meters[0],
            kind=CommandKind.TRIP,
            status=CommandStatus.FAILED,
            next_attempt_at=timezone.now(),
            error="no answer",
        )
        html = home(world.clerk)
        assert panels_in(html) == {'id="home-pending"'}
        assert 'id="home-nothing-pending"' not in html
        assert f'data-testid="home-request-{mine_rev.pk}"' in html
        assert f'data-testid="home-adjustment-{mine_adj.pk}"' in html and "¥9.00" in html
        assert f'data-testid="home-adjustment-{theirs.pk}"' not in html
        assert f'data-testid="home-delivery-{delivery.pk}"' in html and acc.number in html
        assert "1 carried credit to deliver" in html
        assert f'data-testid="home-command-{failed.pk}"' in html
        assert f'data-testid="home-command-{outside.pk}"' not in html
        assert "1 remote command failed or is overdue" in html

        # decided requests leave the panel
        do_approve_reversal(reversal=mine_rev, actor=world.finance)
        html = home(world.clerk)
        assert f'data-testid="home-request-{mine_rev.pk}"' not in html

    def test_another_groups_clerk_sees_nothing_of_group_a(self, clock: Any, shop: Any) -> None:
        world = shop.world
        do_request_adjustment(account=shop.account, actor=world.clerk, reason="fault", amount="9")
        MeterCommand.objects.create(
            meter=world.a1.meters[2],
            kind=CommandKind.TRIP,
            status=CommandStatus.FAILED,
            next_attempt_at=timezone.now(),
            error="no answer",
        )
        html = home(world.clerk_b)
        assert 'id="home-nothing-pending"' in html and shop.account.number not in html
        assert world.a1.site.name not in html

    def test_my_request_in_a_site_i_no_longer_hold_is_not_listed(self, world: Any) -> None:
        mover = f.user(
            "mover",
            memberships=[
                (world.a1.group, world.a1.site, Role.CLERK),
                (world.b1.group, world.b1.site, Role.CLERK),
            ],
        )
        left = do_request_adjustment(account=f.account(world.b1), actor=mover, reason="x", amount="3")
        kept = do_request_adjustment(account=f.account(world.a1), actor=mover, reason="y", amount="4")
        mover.memberships.filter(group=world.b1.group).delete()
        html = home(mover)
        assert f'data-testid="home-adjustment-{kept.pk}"' in html
        assert f'data-testid="home-adjustment-{left.pk}"' not in html and left.account.number not in html


class RolesTestCase:
    def test_a_user_without_a_role_sees_no_panel(self, world: Any) -> None:
        assert panels_in(home(f.user("nobody"))) == set()

    def test_a_user_with_several_roles_sees_each_panel(self, world: Any) -> None:
        u = f.user(
            "multi",
            memberships=[
                (world.a1.group, world.a1.site, Role.CASHIER),
                (world.a1.group, world.a1.site, Role.CLERK),
                (world.a1.group, None, Role.FINANCE),
            ],
        )
        assert panels_in(home(u)) == set(PANELS)

    def test_the_page_does_not_grow_in_queries_with_rows(self, clock: Any, shop: Any) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        world = shop.world
        u = f.user(
            "multi2",
            memberships=[
                (world.a1.group, world.a1.site, Role.CLERK),
                (world.a1.group, None, Role.FINANCE),
            ],
        )
        do_request_adjustment(account=shop.account, actor=u, reason="a", amount="1")
        c = client_for(u)
        with CaptureQueriesContext(connection) as few:
            c.get("/")
        for i in range(6):
            do_request_adjustment(account=shop.account, actor=u, reason=f"b{i}", amount="1")
        with CaptureQueriesContext(connection) as many:
            html = c.get("/").content.decode()
        assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
        assert html.count('data-testid="home-adjustment-') == 5  # SHOWN
