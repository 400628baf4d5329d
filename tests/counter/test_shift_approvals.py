"""Cash-up and the approvals queue: happy paths, refusals, wrong role (403), outsider (404)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from prepay.vending.actions import do_request_refund, do_request_reversal, do_vend
from prepay.vending.models import Reversal, ReversalStatus, ShiftStatus, VendStatus
from tests import factories as f
from tests.counter.conftest import client_for
from tests.helpers import changes_nothing


def sell(shop: Any, key: str = "s1", amount: str = "20", account: Any = None) -> Any:
    return do_vend(
        account=account or shop.account,
        actor=shop.world.cashier,
        point=shop.point,
        idempotency_key=key,
        amount=amount,
    )


def remote_account_with_balance(shop: Any, amount: str = "40") -> Any:
    """A remote fee control account: money paid stays on its balance (refundable)."""
    account = f.account(shop.world.a1, unit=shop.world.a1.units[1], mode="remote")
    sell(shop, f"bal-{account.pk}", amount, account)
    return account


class CashUpTestCase:
    def test_it_expects_the_money_taken_in_the_shift(self, shop: Any) -> None:
        sell(shop, "a", "20")
        sell(shop, "b", "30")
        page = client_for(shop.world.cashier).get("/counter/shift/close/")
        assert 'id="expected-cash">50.00<' in page.content.decode()

    def test_it_closes_with_the_counted_money_and_shows_the_difference(self, shop: Any) -> None:
        sell(shop, "a", "20")
        c = client_for(shop.world.cashier)
        page = c.get("/counter/shift/close/")
        assert page.status_code == 200 and 'id="shift-close-form"' in page.content.decode()
        r = c.post(
            "/counter/shift/close/",
            {
                "declared_cash": "19.50",
                "declared_card": "0",
                "declared_transfer": "0",
                "declared_online": "0",
            },
        )
        assert r.status_code == 302 and r["Location"] == f"/counter/shifts/{shop.shift.pk}/"
        shop.shift.refresh_from_db()
        assert shop.shift.status == ShiftStatus.CLOSED and shop.shift.declared["cash"] == "19.50"
        difference = Decimal("19.50") - Decimal(shop.shift.expected["cash"])
        assert shop.shift.difference["cash"] == str(difference)
        html = c.get(r["Location"]).content.decode()
        assert f'id="difference-cash">{difference}<' in html

    def test_it_shows_a_bad_count_and_closes_nothing(self, shop: Any) -> None:
        with changes_nothing():
            r = client_for(shop.world.cashier).post("/counter/shift/close/", {"declared_cash": "-1"})
        assert r.status_code == 400
        shop.shift.refresh_from_db()
        assert shop.shift.status == ShiftStatus.OPEN

    def test_it_shows_the_cash_up_to_finance_but_not_to_other_sites_or_clerks(self, shop: Any) -> None:
        url = f"/counter/shifts/{shop.shift.pk}/"
        assert client_for(shop.world.finance).get(url).status_code == 200
        assert client_for(shop.world.clerk).get(url).status_code == 404
        assert client_for(shop.world.clerk_a2).get(url).status_code == 404
        assert client_for(shop.world.clerk).get("/counter/shift/close/").status_code == 403


class ApprovalsTestCase:
    def test_it_lists_and_approves_a_reversal(self, shop: Any) -> None:
        vend = sell(shop)
        r = do_request_reversal(
            vend=vend, actor=shop.world.cashier, reason="wrong account", token_entered=False
        )
        c = client_for(shop.world.finance)
        html = c.get("/counter/approvals/").content.decode()
        assert f'id="approve-{r.pk}"' in html
        resp = c.post(f"/counter/approvals/{r.pk}/approve/", {"note": "ok"})
        assert resp.status_code == 302
        r.refresh_from_db()
        vend.refresh_from_db()
        assert r.status == ReversalStatus.APPROVED and vend.status == VendStatus.REVERSED

    def test_it_rejects_with_a_note_and_refuses_without(self, shop: Any) -> None:
        r = do_request_reversal(vend=sell(shop), actor=shop.world.cashier, reason="x", token_entered=True)
        c = client_for(shop.world.admin)
        with changes_nothing():
            c.post(f"/counter/approvals/{r.pk}/reject/", {"note": ""})
        r.refresh_from_db()
        assert r.status == ReversalStatus.REQUESTED
        c.post(f"/counter/approvals/{r.pk}/reject/", {"note": "the token was used"})
        r.refresh_from_db()
        assert r.status == ReversalStatus.REJECTED

    def test_it_never_lets_anyone_approve_their_own_request(self, shop: Any) -> None:
        from prepay.tenancy.choices import Role
        from prepay.tenancy.models import Membership

        # an admin who is also a clerk may request and approve, but never their own request
        Membership.objects.create(
            user=shop.world.admin, group=shop.world.a1.group, site=None, role=Role.CLERK
        )
        r = do_request_refund(
            account=remote_account_with_balance(shop),
            amount=Decimal("10"),
            actor=shop.world.admin,
            reason="moving",
        )
        c = client_for(shop.world.admin)
        assert "Your own request" in c.get("/counter/approvals/").content.decode()
        with changes_nothing():
            resp = c.post(f"/counter/approvals/{r.pk}/approve/", {"note": ""}, follow=True)
        assert "their own request" in resp.content.decode()
        r.refresh_from_db()
        assert r.status == ReversalStatus.REQUESTED

    def test_it_requests_a_refund_from_the_account_page(self, shop: Any) -> None:
        account = remote_account_with_balance(shop)
        c = client_for(shop.world.clerk)
        url = f"/counter/accounts/{account.pk}/refund/"
        key = c.get(url).context["form"].initial["idempotency_key"]
        resp = c.post(url, {"amount": "1", "method": "cash", "reason": "overpaid", "idempotency_key": key})
        assert resp.status_code == 302
        assert Reversal.objects.get(kind="refund").requested_by == shop.world.clerk

    def test_it_refuses_the_wrong_role_and_hides_other_sites(self, shop: Any) -> None:
        r = do_request_reversal(vend=sell(shop), actor=shop.world.cashier, reason="x", token_entered=False)
        assert client_for(shop.world.cashier).get("/counter/approvals/").status_code == 403
        assert client_for(shop.world.clerk).post(f"/counter/approvals/{r.pk}/approve/").status_code == 403
        assert client_for(shop.world.clerk_b).post(f"/counter/approvals/{r.pk}/approve/").status_code == 404
        outsider = f.user("fin_b", memberships=[(shop.world.b1.group, None, "finance")])
        assert f"approve-{r.pk}" not in client_for(outsider).get("/counter/approvals/").content.decode()
        refund_url = f"/counter/accounts/{shop.account.pk}/refund/"
        assert client_for(shop.world.auditor).get(refund_url).status_code == 403
