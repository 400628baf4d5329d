"""Account lifecycle screens: assign meter, replace meter, transfer ownership, close account."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prepay.audit.models import AuditEvent
from prepay.customers.choices import AccountStatus
from prepay.meters.choices import MeterStatus
from prepay.meters.models import Installation, Meter
from prepay.vending import ledger
from prepay.vending.models import LedgerEntry, Vend, VendStatus
from tests import factories as f
from tests.helpers import changes_nothing


def url(account, screen):
    return f"/admin/customers/account/{account.pk}/{screen}/"


def pay(account, amount):
    last = LedgerEntry.objects.filter(account=account).count()
    LedgerEntry.objects.create(
        account=account,
        seq=last + 1,
        kind="payment",
        amount=Decimal(amount),
        balance_after=ledger.balance_of(account) + Decimal(amount),
    )


class AccountPageTestCase:
    def test_it_is_read_only_for_everyone(self, world, login):
        acc = f.account(world.a1)
        client = login(world.admin)
        assert client.get("/admin/customers/account/add/").status_code == 403
        page = client.get(f"/admin/customers/account/{acc.pk}/change/")
        assert page.status_code == 200 and b'name="_save"' not in page.content
        assert client.post(f"/admin/customers/account/{acc.pk}/delete/", {"post": "yes"}).status_code == 403

    def test_it_offers_lifecycle_buttons_to_the_clerk_only(self, world, login):
        acc = f.account(world.a1)
        page = f"/admin/customers/account/{acc.pk}/change/"
        assert url(acc, "assign-meter").encode() in login(world.clerk).get(page).content
        for user in (world.cashier, world.finance, world.auditor, world.admin):
            assert url(acc, "assign-meter").encode() not in login(user).get(page).content

    def test_it_offers_replace_instead_of_assign_when_a_meter_is_installed(self, world, login):
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        content = login(world.clerk).get(f"/admin/customers/account/{acc.pk}/change/").content
        assert (
            url(acc, "replace-meter").encode() in content and url(acc, "assign-meter").encode() not in content
        )

    def test_it_searches_accounts_by_number_and_meter_serial(self, world, login):
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        other = f.account(world.a1, unit=world.a1.units[1])
        content = (
            login(world.clerk)
            .get(f"/admin/customers/account/?q={world.a1.meters[0].serial}")
            .content.decode()
        )
        assert acc.number in content and other.number not in content


class AssignMeterScreenTestCase:
    def test_it_assigns_a_meter(self, world, login):
        acc, m = f.account(world.a1), world.a1.meters[0]
        response = login(world.clerk).post(
            url(acc, "assign-meter"), {"meter": m.serial, "opening_reading": "12.5"}
        )
        assert response.status_code == 302
        m.refresh_from_db()
        assert m.status == MeterStatus.INSTALLED
        assert Installation.objects.get(account=acc).opening_reading == Decimal("12.5")
        assert AuditEvent.objects.filter(verb="meter.assign").exists()

    def test_it_shows_an_already_installed_meter_on_the_form(self, world, login):
        m = world.a1.meters[0]
        f.account(world.a1, meter_=m)
        acc = f.account(world.a1, unit=world.a1.units[1])
        client = login(world.clerk)
        with changes_nothing():
            response = client.post(url(acc, "assign-meter"), {"meter": m.serial, "opening_reading": "0"})
        assert response.status_code == 400
        assert b"is not in stock" in response.content
        assert not Installation.objects.filter(account=acc).exists()

    def test_it_shows_a_meter_of_another_site_on_the_form(self, world, login):
        acc = f.account(world.a1)
        response = login(world.clerk).post(
            url(acc, "assign-meter"), {"meter": world.a2.meters[0].serial, "opening_reading": "0"}
        )
        # clerk of a1 cannot even see a2's meter: it is unknown to them
        assert response.status_code == 200
        assert b"No meter with serial number" in response.content

    def test_it_shows_a_wrong_kind_on_the_form(self, world, login):
        acc = f.account(world.a1)
        water = f.meter(world.a1, world.a1.water)
        response = login(world.clerk).post(
            url(acc, "assign-meter"), {"meter": water.serial, "opening_reading": "0"}
        )
        assert response.status_code == 400
        assert b"cannot serve" in response.content

    def test_it_shows_a_second_meter_on_the_form(self, world, login):
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        response = login(world.clerk).post(
            url(acc, "assign-meter"), {"meter": world.a1.meters[1].serial, "opening_reading": "0"}
        )
        assert response.status_code == 400
        assert b"already has a meter" in response.content

    def test_it_refuses_a_negative_reading_on_the_form(self, world, login):
        acc = f.account(world.a1)
        response = login(world.clerk).post(
            url(acc, "assign-meter"), {"meter": world.a1.meters[0].serial, "opening_reading": "-1"}
        )
        assert response.status_code == 200
        assert not Installation.objects.filter(account=acc).exists()

    @pytest.mark.parametrize("role", ["cashier", "admin", "finance", "auditor"])
    def test_it_refuses_a_wrong_role(self, world, login, role):
        acc = f.account(world.a1)
        client = login(getattr(world, role))
        assert client.get(url(acc, "assign-meter")).status_code == 403
        data = {"meter": world.a1.meters[0].serial, "opening_reading": "0"}
        assert client.post(url(acc, "assign-meter"), data).status_code == 403
        assert not Installation.objects.filter(account=acc).exists()

    def test_it_gives_an_outsider_404(self, world, login):
        acc = f.account(world.a1)
        data = {"meter": world.a1.meters[0].serial, "opening_reading": "0"}
        assert login(world.clerk_a2).post(url(acc, "assign-meter"), data).status_code == 404
        assert login(world.clerk_b).get(url(acc, "assign-meter")).status_code == 404


class ReplaceMeterScreenTestCase:
    def data(self, new, **kw):
        return {
            "old_closing_reading": kw.get("closing", "150"),
            "remaining_credit": kw.get("credit", "20"),
            "new_meter": new.serial,
            "new_opening_reading": "0",
            "reason": "burnt",
            "old_meter_faulty": "on",
        }

    def test_it_replaces_the_meter_carrying_the_credit(self, world, login):
        old, new = world.a1.meters[0], world.a1.meters[1]
        acc = f.account(world.a1, meter_=old)
        response = login(world.clerk).post(url(acc, "replace-meter"), self.data(new))
        assert response.status_code == 302
        old.refresh_from_db()
        new.refresh_from_db()
        assert (old.status, new.status) == (MeterStatus.FAULTY, MeterStatus.INSTALLED)
        inst = Installation.objects.get(account=acc, ended_at__isnull=True)
        assert inst.meter == new and inst.credit_carried_in == Decimal("20")

    def test_it_returns_a_sound_old_meter_to_stock(self, world, login):
        old, new = world.a1.meters[0], world.a1.meters[1]
        acc = f.account(world.a1, meter_=old)
        data = self.data(new)
        del data["old_meter_faulty"]
        assert login(world.clerk).post(url(acc, "replace-meter"), data).status_code == 302
        old.refresh_from_db()
        assert old.status == MeterStatus.IN_STOCK

    def test_it_shows_a_backwards_reading_on_the_form(self, world, login):
        old, new = world.a1.meters[0], world.a1.meters[1]
        acc = f.account(world.a1, meter_=old)
        response = login(world.clerk).post(url(acc, "replace-meter"), self.data(new, closing="50"))
        assert response.status_code == 400
        assert b"below its opening reading" in response.content
        new.refresh_from_db()
        assert new.status == MeterStatus.IN_STOCK

    def test_it_shows_no_meter_to_replace_on_the_form(self, world, login):
        acc = f.account(world.a1)
        response = login(world.clerk).post(url(acc, "replace-meter"), self.data(world.a1.meters[1]))
        assert response.status_code == 400
        assert b"has no meter to replace" in response.content

    def test_it_shows_the_same_meter_on_the_form(self, world, login):
        old = world.a1.meters[0]
        acc = f.account(world.a1, meter_=old)
        response = login(world.clerk).post(url(acc, "replace-meter"), self.data(old))
        assert response.status_code == 400
        assert b"already installed" in response.content

    def test_it_refuses_a_wrong_role(self, world, login):
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        assert (
            login(world.cashier).post(url(acc, "replace-meter"), self.data(world.a1.meters[1])).status_code
            == 403
        )
        assert Installation.objects.get(account=acc).meter == world.a1.meters[0]

    def test_it_gives_an_outsider_404(self, world, login):
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        assert (
            login(world.clerk_a2).post(url(acc, "replace-meter"), self.data(world.a1.meters[1])).status_code
            == 404
        )
        assert login(world.clerk_b).get(url(acc, "replace-meter")).status_code == 404


class TransferScreenTestCase:
    def test_it_transfers_and_refunds_the_old_owner(self, world, login):
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        pay(acc, "30.00")
        new = f.customer(world.a1)
        data = {
            "new_customer": new.number,
            "reading": "120",
            "refund_balance": "on",
            "idempotency_key": "t-1",
        }
        assert login(world.clerk).post(url(acc, "transfer"), data).status_code == 302
        acc.refresh_from_db()
        assert acc.customer == new and ledger.balance_of(acc) == Decimal("0.00")
        assert AuditEvent.objects.filter(verb="account.transfer").exists()

    def test_it_shows_arrears_on_the_form(self, world, login):
        acc = f.account(world.a1)
        pay(acc, "-5.00")
        new = f.customer(world.a1)
        response = login(world.clerk).post(url(acc, "transfer"), {"new_customer": new.number, "reading": "0"})
        assert response.status_code == 400
        assert b"in arrears" in response.content
        acc.refresh_from_db()
        assert acc.customer != new

    def test_it_shows_the_same_customer_on_the_form(self, world, login):
        acc = f.account(world.a1)
        response = login(world.clerk).post(
            url(acc, "transfer"), {"new_customer": acc.customer.number, "reading": "0"}
        )
        assert response.status_code == 400
        assert b"already belongs" in response.content

    def test_it_shows_an_unknown_customer_on_the_form(self, world, login):
        acc = f.account(world.a1)
        other_site = f.customer(world.a2)
        response = login(world.clerk).post(
            url(acc, "transfer"), {"new_customer": other_site.number, "reading": "0"}
        )
        assert response.status_code == 200
        assert b"No customer with number" in response.content

    def test_it_refuses_a_wrong_role(self, world, login):
        acc = f.account(world.a1)
        new = f.customer(world.a1)
        response = login(world.cashier).post(
            url(acc, "transfer"), {"new_customer": new.number, "reading": "0"}
        )
        assert response.status_code == 403

    def test_it_gives_an_outsider_404(self, world, login):
        acc = f.account(world.a1)
        assert login(world.clerk_a2).get(url(acc, "transfer")).status_code == 404
        assert login(world.clerk_b).get(url(acc, "transfer")).status_code == 404


class CloseScreenTestCase:
    def test_it_closes_and_refunds(self, world, login):
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        pay(acc, "10.00")
        data = {"final_reading": "150", "remaining_credit": "5", "idempotency_key": "c-1"}
        assert login(world.clerk).post(url(acc, "close"), data).status_code == 302
        acc.refresh_from_db()
        assert acc.status == AccountStatus.CLOSED and ledger.balance_of(acc) == Decimal("0.00")
        assert Meter.objects.get(pk=world.a1.meters[0].pk).status == MeterStatus.IN_STOCK

    def test_it_shows_a_pending_reversal_on_the_form(self, world, login):
        acc = f.account(world.a1)
        Vend.objects.create(account=acc, amount=Decimal("10"), status=VendStatus.PENDING_APPROVAL)
        client = login(world.clerk)
        with changes_nothing():
            response = client.post(url(acc, "close"), {"final_reading": "0", "remaining_credit": "0"})
        assert response.status_code == 400
        assert b"awaiting approval" in response.content
        acc.refresh_from_db()
        assert acc.status == AccountStatus.OPEN

    def test_it_shows_an_already_closed_account_on_the_form(self, world, login):
        acc = f.account(world.a1, status=AccountStatus.CLOSED)
        response = login(world.clerk).post(url(acc, "close"), {"final_reading": "0", "remaining_credit": "0"})
        assert response.status_code == 400
        assert b"already closed" in response.content

    def test_it_shows_a_backwards_final_reading_on_the_form(self, world, login):
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        response = login(world.clerk).post(
            url(acc, "close"), {"final_reading": "10", "remaining_credit": "0"}
        )
        assert response.status_code == 400
        assert b"below the meter" in response.content

    def test_it_refuses_negative_credit_on_the_form(self, world, login):
        acc = f.account(world.a1)
        response = login(world.clerk).post(
            url(acc, "close"), {"final_reading": "0", "remaining_credit": "-1"}
        )
        assert response.status_code == 200
        acc.refresh_from_db()
        assert acc.status == AccountStatus.OPEN

    def test_it_refuses_a_wrong_role(self, world, login):
        acc = f.account(world.a1)
        for user in (world.cashier, world.admin, world.finance):
            assert login(user).post(url(acc, "close"), {"final_reading": "0"}).status_code == 403
        acc.refresh_from_db()
        assert acc.status == AccountStatus.OPEN

    def test_it_gives_an_outsider_404(self, world, login):
        acc = f.account(world.a1)
        assert login(world.clerk_a2).post(url(acc, "close"), {"final_reading": "0"}).status_code == 404
        assert login(world.clerk_b).get(url(acc, "close")).status_code == 404
