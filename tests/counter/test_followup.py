"""Issue 7 follow-up screens: adjustments (request, approve / reject in the queue), protected supply
(start, end early, shown on the card and the page) and bills / fees / warning state on the account page.

Each screen: happy path, every refusal the action can give shown on the form (or as a message),
wrong role 403, outsider 404; English and Chinese.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from prepay.billing import actions as billing
from prepay.billing.models import Bill, FeeSchedule, ProtectedSupply
from prepay.customers.models import Account
from prepay.tenancy.choices import Role
from prepay.tenancy.models import Membership
from prepay.vending import ledger
from prepay.vending.actions import do_approve_adjustment, do_request_adjustment, do_vend
from prepay.vending.models import Adjustment, AdjustmentStatus, EntryKind
from tests import factories as f
from tests.billing.conftest import at, meter_of, read, remote_account
from tests.counter.conftest import client_for
from tests.helpers import changes_nothing


def zh(msgid: str) -> str:
    """The catalogue's Chinese for ``msgid`` (the test fails if it is missing: no silent English)."""
    with translation.override("zh-hans"):
        text = gettext(msgid)
    assert text != msgid, f"no Chinese for {msgid!r}"
    return text


def local(dt: datetime) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def funded_remote(world: Any, amount: str = "40") -> Any:
    """A remote fee control account at A1 with ``amount`` on its balance."""
    acc = remote_account(world.a1)
    with transaction.atomic():
        ledger.post(acc, EntryKind.PAYMENT, Decimal(amount), actor=None, idempotency_key=f"fund-{acc.pk}")
    return acc


# ---- adjustments: the request form ----------------------------------------------------------------------


class AdjustmentRequestTestCase:
    def url(self, account: Any) -> str:
        return f"/counter/accounts/{account.pk}/adjust/"

    def post(self, client: Any, account: Any, **data: str) -> Any:
        key = client.get(self.url(account)).context["form"].initial["idempotency_key"]
        return client.post(self.url(account), {"idempotency_key": key, "reason": "outage", **data})

    def test_it_requests_energy_from_the_account_page_and_shows_it_there(self, shop: Any) -> None:
        c = client_for(shop.world.clerk)
        page = c.get(f"/counter/accounts/{shop.account.pk}/").content.decode()
        assert 'id="tool-adjust"' in page and 'id="adjustments-empty"' in page
        form = c.get(self.url(shop.account)).content.decode()
        assert 'id="adjust-form"' in form
        r = self.post(c, shop.account, mode="energy", value="5")
        assert r.status_code == 302 and r["Location"] == f"/counter/accounts/{shop.account.pk}/"
        adj = Adjustment.objects.get(account=shop.account)
        assert adj.energy == Decimal("5") and adj.amount is None and adj.requested_by == shop.world.clerk
        assert adj.status == AdjustmentStatus.REQUESTED
        page = c.get(f"/counter/accounts/{shop.account.pk}/").content.decode()
        assert f'data-testid="adjustment-row-{adj.pk}"' in page and "Awaiting approval" in page

    def test_it_requests_a_signed_money_correction(self, shop: Any) -> None:
        acc = funded_remote(shop.world)
        r = self.post(client_for(shop.world.clerk), acc, mode="money", value="-3.50")
        assert r.status_code == 302
        assert Adjustment.objects.get(account=acc).amount == Decimal("-3.50")

    def test_a_repeated_submit_requests_once(self, shop: Any) -> None:
        c = client_for(shop.world.clerk)
        key = c.get(self.url(shop.account)).context["form"].initial["idempotency_key"]
        data = {"idempotency_key": key, "reason": "x", "mode": "energy", "value": "2"}
        c.post(self.url(shop.account), data)
        c.post(self.url(shop.account), data)
        assert Adjustment.objects.filter(account=shop.account).count() == 1

    @pytest.mark.parametrize(
        ("case", "data", "message"),
        [
            ("zero", {"mode": "energy", "value": "0"}, "must not be zero"),
            ("negative energy", {"mode": "energy", "value": "-1"}, "Credit cannot be taken out of a meter"),
            ("energy on a balance", {"mode": "energy", "value": "2"}, "adjusted with money"),
            ("no meter", {"mode": "energy", "value": "2"}, "has no meter installed"),
            ("closed", {"mode": "money", "value": "2"}, "is closed"),
        ],
    )
    def test_it_shows_every_refusal_on_the_form(
        self, shop: Any, case: str, data: dict[str, str], message: str
    ) -> None:
        account = shop.account
        if case == "energy on a balance":
            account = funded_remote(shop.world)
        elif case == "no meter":
            account = f.account(shop.world.a1, unit=shop.world.a1.units[1])
        elif case == "closed":
            account = f.account(shop.world.a1, unit=shop.world.a1.units[1], status="closed")
        c = client_for(shop.world.clerk)
        key = c.get(self.url(account)).context["form"].initial["idempotency_key"]
        with changes_nothing():
            r = c.post(self.url(account), {"idempotency_key": key, "reason": "x", **data})
        assert r.status_code == 400
        html = r.content.decode()
        assert 'id="form-errors"' in html and message in html
        assert not Adjustment.objects.exists()

    def test_it_wants_a_reason_and_a_number(self, shop: Any) -> None:
        c = client_for(shop.world.clerk)
        with changes_nothing():
            r = c.post(self.url(shop.account), {"idempotency_key": "k", "mode": "energy", "value": "x"})
        assert r.status_code == 400 and 'id="form-errors"' in r.content.decode()

    def test_it_shows_the_refusal_in_chinese(self, shop: Any) -> None:
        c = client_for(shop.world.clerk, "zh-hans")
        key = c.get(self.url(shop.account)).context["form"].initial["idempotency_key"]
        r = c.post(
            self.url(shop.account), {"idempotency_key": key, "reason": "x", "mode": "energy", "value": "-1"}
        )
        msg = "Credit cannot be taken out of a meter by an adjustment; reverse the vend instead."
        assert r.status_code == 400 and zh(msg) in r.content.decode()
        assert zh("Cancel") in c.get(self.url(shop.account)).content.decode()

    def test_it_refuses_the_wrong_role_and_hides_other_sites(self, shop: Any) -> None:
        url = self.url(shop.account)
        for user in (shop.world.cashier, shop.world.finance, shop.world.auditor):
            assert client_for(user).get(url).status_code == 403
        page = client_for(shop.world.cashier).get(f"/counter/accounts/{shop.account.pk}/").content.decode()
        assert 'id="tool-adjust"' not in page
        assert client_for(shop.world.clerk_a2).get(url).status_code == 404
        assert client_for(shop.world.clerk_b).post(url, {"mode": "money", "value": "1"}).status_code == 404
        assert not Adjustment.objects.exists()


# ---- adjustments: the approvals queue -------------------------------------------------------------------


def request(shop: Any, account: Any = None, actor: Any = None, **kw: Any) -> Adjustment:
    kw = kw or {"energy": "5"}
    return do_request_adjustment(
        account=account or shop.account, actor=actor or shop.world.clerk, reason="outage", **kw
    )


class AdjustmentApprovalTestCase:
    def test_it_lists_and_approves_and_the_token_shows_on_the_account_page(self, shop: Any) -> None:
        adj = request(shop)
        c = client_for(shop.world.finance)
        html = c.get("/counter/approvals/").content.decode()
        assert f'id="approve-adj-{adj.pk}"' in html and f'id="reject-adj-{adj.pk}"' in html
        r = c.post(f"/counter/adjustments/{adj.pk}/approve/", {"note": "ok"})
        assert r.status_code == 302 and r["Location"] == "/counter/approvals/"
        adj.refresh_from_db()
        assert adj.status == AdjustmentStatus.APPROVED and adj.decided_by == shop.world.finance
        token = adj.tokens.get()
        page = client_for(shop.world.clerk).get(f"/counter/accounts/{shop.account.pk}/").content.decode()
        assert str(token) in page and f'id="adjustment-delivery-{adj.pk}"' in page
        assert f'id="approve-adj-{adj.pk}"' not in c.get("/counter/approvals/").content.decode()

    def test_an_approved_money_correction_moves_the_balance(self, shop: Any) -> None:
        acc = funded_remote(shop.world)
        adj = request(shop, acc, amount="-10")
        client_for(shop.world.admin).post(f"/counter/adjustments/{adj.pk}/approve/", {"note": ""})
        assert ledger.balance_of(acc) == Decimal("30.00")

    def test_it_rejects_with_a_note_and_refuses_without(self, shop: Any) -> None:
        adj = request(shop)
        c = client_for(shop.world.finance)
        with changes_nothing():
            r = c.post(f"/counter/adjustments/{adj.pk}/reject/", {"note": ""}, follow=True)
        assert "Say why." in r.content.decode()
        adj.refresh_from_db()
        assert adj.status == AdjustmentStatus.REQUESTED
        c.post(f"/counter/adjustments/{adj.pk}/reject/", {"note": "no outage that day"})
        adj.refresh_from_db()
        assert adj.status == AdjustmentStatus.REJECTED and adj.decision_note == "no outage that day"
        page = client_for(shop.world.clerk).get(f"/counter/accounts/{shop.account.pk}/").content.decode()
        assert "no outage that day" in page

    def test_it_never_lets_anyone_decide_their_own_request(self, shop: Any) -> None:
        Membership.objects.create(
            user=shop.world.admin, group=shop.world.a1.group, site=None, role=Role.CLERK
        )
        adj = request(shop, actor=shop.world.admin)
        c = client_for(shop.world.admin)
        html = c.get("/counter/approvals/").content.decode()
        assert f'id="approve-adj-{adj.pk}"' not in html and "Your own request" in html
        with changes_nothing():
            r = c.post(f"/counter/adjustments/{adj.pk}/approve/", {"note": ""}, follow=True)
        assert "Nobody approves or rejects their own request." in r.content.decode()
        adj.refresh_from_db()
        assert adj.status == AdjustmentStatus.REQUESTED

    def test_it_shows_a_decided_request_and_an_overdrawing_debit_as_refusals(self, shop: Any) -> None:
        adj = request(shop)
        do_approve_adjustment(adjustment=adj, actor=shop.world.finance)
        c = client_for(shop.world.admin)
        with changes_nothing():
            r = c.post(f"/counter/adjustments/{adj.pk}/reject/", {"note": "late"}, follow=True)
        assert "This request was already" in r.content.decode()
        debit = request(shop, funded_remote(shop.world), amount="-100")
        with changes_nothing():
            r = c.post(f"/counter/adjustments/{debit.pk}/approve/", {"note": ""}, follow=True)
        assert "it cannot be debited 100.00" in r.content.decode()

    def test_it_shows_the_refusal_in_chinese(self, shop: Any) -> None:
        Membership.objects.create(
            user=shop.world.admin, group=shop.world.a1.group, site=None, role=Role.CLERK
        )
        adj = request(shop, actor=shop.world.admin)
        c = client_for(shop.world.admin, "zh-hans")
        r = c.post(f"/counter/adjustments/{adj.pk}/approve/", {"note": ""}, follow=True)
        assert zh("Nobody approves or rejects their own request.") in r.content.decode()

    def test_it_refuses_the_wrong_role_and_hides_other_sites(self, shop: Any) -> None:
        adj = request(shop)
        assert client_for(shop.world.clerk).post(f"/counter/adjustments/{adj.pk}/approve/").status_code == 403
        assert (
            client_for(shop.world.cashier).post(f"/counter/adjustments/{adj.pk}/reject/").status_code == 403
        )
        assert (
            client_for(shop.world.clerk_b).post(f"/counter/adjustments/{adj.pk}/approve/").status_code == 404
        )
        outsider = f.user("fin_b", memberships=[(shop.world.b1.group, None, "finance")])
        assert f"approve-adj-{adj.pk}" not in client_for(outsider).get("/counter/approvals/").content.decode()
        assert client_for(outsider).post(f"/counter/adjustments/{adj.pk}/approve/").status_code == 404
        adj.refresh_from_db()
        assert adj.status == AdjustmentStatus.REQUESTED


# ---- protected supply ------------------------------------------------------------------------------------


class ProtectSupplyTestCase:
    def url(self, account: Any) -> str:
        return f"/counter/accounts/{account.pk}/protect/"

    def window(
        self, start: timedelta = timedelta(minutes=-1), end: timedelta = timedelta(days=1)
    ) -> dict[str, str]:
        now = timezone.now()
        return {"starts_at": local(now + start), "ends_at": local(now + end), "reason": "hospital ward"}

    def test_it_protects_and_shows_the_window_on_the_page_and_the_card(self, world: Any, shop: Any) -> None:
        acc = remote_account(world.a1, unit=world.a1.units[1])
        c = client_for(world.clerk)
        assert 'id="tool-protect"' in c.get(f"/counter/accounts/{acc.pk}/").content.decode()
        assert 'id="protect-form"' in c.get(self.url(acc)).content.decode()
        r = c.post(self.url(acc), self.window())
        assert r.status_code == 302 and r["Location"] == f"/counter/accounts/{acc.pk}/"
        prot = ProtectedSupply.objects.get(account=acc)
        assert prot.reason == "hospital ward" and prot.created_by == world.clerk
        page = c.get(f"/counter/accounts/{acc.pk}/").content.decode()
        assert 'id="account-protected"' in page and 'id="supply-protected"' in page
        assert 'data-state="active"' in page and f'id="end-protect-{prot.pk}"' in page
        card = client_for(world.cashier).get(f"/counter/card/{acc.pk}/").content.decode()
        assert (
            'id="card-protected"' in card
            and timezone.localtime(prot.ends_at).strftime("%Y-%m-%d %H:%M") in card
        )

    def test_it_ends_a_protection_early_and_refuses_twice(self, world: Any) -> None:
        acc = remote_account(world.a1)
        now = timezone.now()
        prot = billing.do_protect_supply(
            account=acc, starts_at=now, ends_at=now + timedelta(days=1), reason="x", actor=world.clerk
        )
        c = client_for(world.clerk)
        r = c.post(f"/counter/protections/{prot.pk}/end/")
        assert r.status_code == 302 and r["Location"] == f"/counter/accounts/{acc.pk}/"
        prot.refresh_from_db()
        assert prot.cancelled_at is not None
        page = c.get(r["Location"]).content.decode()
        assert 'data-state="ended"' in page and 'id="account-protected"' not in page
        with changes_nothing():
            r = c.post(f"/counter/protections/{prot.pk}/end/", follow=True)
        assert "This protection is already over." in r.content.decode()

    @pytest.mark.parametrize(
        ("case", "start", "end", "message"),
        [
            ("reversed", timedelta(hours=2), timedelta(hours=1), "The protection must end after it starts."),
            ("over", timedelta(hours=-3), timedelta(hours=-1), "The protection window is already over."),
            ("too long", timedelta(0), timedelta(days=400), "Supply can be protected for at most a year"),
            ("closed", timedelta(0), timedelta(days=1), "The account is closed."),
        ],
    )
    def test_it_shows_every_refusal_on_the_form(
        self, world: Any, case: str, start: timedelta, end: timedelta, message: str
    ) -> None:
        acc = remote_account(world.a1)
        if case == "closed":
            Account.objects.filter(pk=acc.pk).update(status="closed")
        with changes_nothing():
            r = client_for(world.clerk).post(self.url(acc), self.window(start, end))
        assert r.status_code == 400 and message in r.content.decode()

    def test_it_wants_a_reason_and_a_window(self, world: Any) -> None:
        acc = remote_account(world.a1)
        with changes_nothing():
            r = client_for(world.clerk).post(
                self.url(acc), {**self.window(), "reason": " ", "ends_at": "soon"}
            )
        assert r.status_code == 400 and 'id="form-errors"' in r.content.decode()

    def test_it_shows_the_refusal_in_chinese(self, world: Any) -> None:
        acc = remote_account(world.a1)
        c = client_for(world.clerk, "zh-hans")
        r = c.post(self.url(acc), self.window(timedelta(hours=2), timedelta(hours=1)))
        assert r.status_code == 400 and zh("The protection must end after it starts.") in r.content.decode()

    def test_it_refuses_the_wrong_role_and_hides_other_sites(self, world: Any) -> None:
        acc = remote_account(world.a1)
        now = timezone.now()
        prot = billing.do_protect_supply(
            account=acc, starts_at=now, ends_at=now + timedelta(days=1), reason="x", actor=world.clerk
        )
        for user in (world.cashier, world.finance, world.auditor):
            assert client_for(user).get(self.url(acc)).status_code == 403
            assert client_for(user).post(f"/counter/protections/{prot.pk}/end/").status_code == 403
        page = client_for(world.cashier).get(f"/counter/accounts/{acc.pk}/").content.decode()
        assert 'id="tool-protect"' not in page and f'id="end-protect-{prot.pk}"' not in page
        assert 'id="account-protected"' in page  # seen, not changed
        for user in (world.clerk_a2, world.clerk_b):
            assert client_for(user).get(self.url(acc)).status_code == 404
            assert client_for(user).post(f"/counter/protections/{prot.pk}/end/").status_code == 404
        prot.refresh_from_db()
        assert prot.cancelled_at is None


# ---- bills, fees and the warning state in the customer view ----------------------------------------------


class BillsAndFeesTestCase:
    def test_it_shows_fees_bills_and_what_was_paid(self, world: Any) -> None:
        acc = remote_account(world.a1, billing="postpaid")
        other = remote_account(world.a1, unit=world.a1.units[1], billing="postpaid")
        mine = FeeSchedule.objects.create(
            site=world.a1.site,
            account=acc,
            kind="property",
            name="Property fee",
            amount=Decimal("120.00"),
            frequency="monthly",
            starts_on=date(2026, 1, 1),
        )
        theirs = FeeSchedule.objects.create(
            site=world.a1.site,
            account=other,
            kind="rent",
            name="Rent of another",
            amount=Decimal("999.00"),
            frequency="monthly",
            starts_on=date(2026, 1, 1),
        )
        billing.do_charge_fees(site=world.a1.site, month=date(2026, 3, 1), actor=world.admin)
        read(meter_of(acc), at(2026, 3, 15), "100")
        bills = billing.do_issue_bills(site=world.a1.site, month=date(2026, 3, 1), actor=world.finance)
        bill = next(b for b in bills if b.account_id == acc.pk)
        billing.do_pay_bill(bill=bill, amount=Decimal("50.00"), actor=world.cashier, idempotency_key="pay-1")
        html = client_for(world.clerk).get(f"/counter/accounts/{acc.pk}/").content.decode()
        assert f'data-testid="fee-schedule-{mine.pk}"' in html and "Property fee" in html
        assert f'data-testid="fee-schedule-{theirs.pk}"' not in html and "Rent of another" not in html
        assert 'id="fee-charges"' in html and "120.00" in html
        assert f'data-testid="bill-{bill.number}"' in html and 'data-status="open"' in html
        assert f'id="bill-paid-{bill.pk}">¥50.00<' in html
        assert f'id="bills-owing">¥{bill.amount - Decimal("50.00")}' in html
        assert bill.due_date.strftime("%Y-%m-%d") in html
        other_bill = Bill.objects.get(account=other)
        assert other_bill.number not in html

    def test_it_shows_an_overdue_bill_and_the_cut(self, world: Any) -> None:
        acc = remote_account(world.a1, billing="postpaid")
        read(meter_of(acc), at(2026, 3, 15), "100")
        [bill] = billing.do_issue_bills(site=world.a1.site, month=date(2026, 3, 1), actor=world.finance)
        Bill.objects.filter(pk=bill.pk).update(due_date=timezone.localdate() - timedelta(days=60))
        from prepay.billing import supply

        with transaction.atomic():
            supply.evaluate_supply(Account.objects.select_for_update().get(pk=acc.pk))
        html = client_for(world.clerk).get(f"/counter/accounts/{acc.pk}/").content.decode()
        assert 'data-status="overdue"' in html and "1 overdue" in html
        assert "Cut for overdue bills" in html

    def test_it_shows_the_warning_state_of_a_prepaid_remote_account(self, world: Any) -> None:
        acc = remote_account(world.a1)
        read(meter_of(acc), at(2026, 3, 2), "10")
        with transaction.atomic():
            billing.charge_and_evaluate(Account.objects.select_for_update().get(pk=acc.pk))
        html = client_for(world.auditor).get(f"/counter/accounts/{acc.pk}/").content.decode()
        assert 'id="supply-state"' in html and "Cut until payment" in html and "Credit exhausted" in html
        assert 'id="supply-thresholds"' in html and "20.00" in html

    def test_it_shows_an_empty_local_account_plainly_in_both_languages(self, shop: Any) -> None:
        do_vend(
            account=shop.account, actor=shop.world.cashier, point=shop.point, idempotency_key="v", amount="5"
        )
        html = client_for(shop.world.clerk).get(f"/counter/accounts/{shop.account.pk}/").content.decode()
        assert 'id="bills-empty"' in html and 'id="fee-schedules-empty"' in html
        assert 'id="supply-thresholds"' not in html and "Not cut" in html
        zh_html = (
            client_for(shop.world.clerk, "zh-hans")
            .get(f"/counter/accounts/{shop.account.pk}/")
            .content.decode()
        )
        assert 'id="bills-fees"' in zh_html and zh("Bills and fees") in zh_html

    def test_it_hides_the_account_from_other_sites(self, world: Any) -> None:
        acc = remote_account(world.a1, billing="postpaid")
        for user in (world.clerk_a2, world.clerk_b):
            assert client_for(user).get(f"/counter/accounts/{acc.pk}/").status_code == 404
