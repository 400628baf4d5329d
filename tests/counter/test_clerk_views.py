"""Clerk screens: each page's happy path, refusal shown on the form, wrong role (403), outsider (404)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from prepay.audit.models import AuditEvent
from prepay.customers.choices import AccountStatus
from prepay.customers.models import Account, Customer
from prepay.meters.choices import MeterStatus
from prepay.meters.models import Installation
from prepay.tokens.models import IssuedToken, KeyChange
from tests import factories as f
from tests.counter.conftest import client_for
from tests.helpers import changes_nothing


class AccountListTestCase:
    def test_it_lists_and_searches_the_users_accounts_only(self, world: Any) -> None:
        mine = f.account(world.a1, customer=f.customer(world.a1, name="Zhang San", phone="13800000001"))
        other = f.account(world.a1, unit=world.a1.units[1])
        outside = f.account(world.a2)
        c = client_for(world.cashier)
        html = c.get("/counter/accounts/").content.decode()
        assert mine.number in html and other.number in html and outside.number not in html
        html = c.get("/counter/accounts/", {"q": "13800000001"}).content.decode()
        assert mine.number in html and other.number not in html

    def test_it_finds_an_account_by_its_meter_serial(self, world: Any) -> None:
        meter = world.a1.meters[0]
        acc = f.account(world.a1, meter_=meter)
        html = client_for(world.clerk).get("/counter/accounts/", {"q": meter.serial}).content.decode()
        assert f'data-testid="account-row-{acc.number}"' in html

    def test_it_refuses_a_user_without_a_role(self, world: Any) -> None:
        assert client_for(f.user("nobody")).get("/counter/accounts/").status_code == 403


class CustomerScreensTestCase:
    def test_it_registers_a_customer_and_goes_on_to_open_the_account(self, world: Any) -> None:
        c = client_for(world.clerk)
        assert c.get("/counter/customers/new/").status_code == 200
        r = c.post(
            "/counter/customers/new/",
            {
                "site": world.a1.site.pk,
                "number": "C-900",
                "name": "Li Si",
                "customer_type": world.a1.ctype.pk,
            },
        )
        customer = Customer.objects.get(number="C-900")
        assert r.status_code == 302 and r["Location"] == f"/counter/customers/{customer.pk}/open-account/"

    def test_it_shows_a_duplicate_number_on_the_form(self, world: Any) -> None:
        existing = f.customer(world.a1)
        with changes_nothing():
            r = client_for(world.clerk).post(
                "/counter/customers/new/",
                {
                    "site": world.a1.site.pk,
                    "number": existing.number,
                    "name": "X",
                    "customer_type": world.a1.ctype.pk,
                },
            )
        assert r.status_code == 400 and "already exists" in r.content.decode()

    def test_it_does_not_offer_another_sites_as_choice(self, world: Any) -> None:
        r = client_for(world.clerk).post(
            "/counter/customers/new/",
            {"site": world.a2.site.pk, "number": "C-1", "name": "X", "customer_type": world.a1.ctype.pk},
        )
        assert r.status_code == 400 and not Customer.objects.filter(number="C-1").exists()

    def test_it_refuses_a_cashier(self, world: Any) -> None:
        assert client_for(world.cashier).get("/counter/customers/new/").status_code == 403
        assert client_for(world.cashier).get("/counter/customers/").status_code == 403

    def test_it_opens_an_account(self, world: Any) -> None:
        customer = f.customer(world.a1)
        url = f"/counter/customers/{customer.pk}/open-account/"
        c = client_for(world.clerk)
        assert c.get(url).status_code == 200
        r = c.post(
            url,
            {"unit": "B1 102", "utility": "electricity", "mode": "local", "billing": "prepaid"},
        )
        acc = Account.objects.get(customer=customer)
        assert r.status_code == 302 and r["Location"] == f"/counter/accounts/{acc.pk}/"
        assert acc.unit == world.a1.units[1]

    def test_it_shows_why_an_account_cannot_be_opened(self, world: Any) -> None:
        f.account(world.a1)  # on unit 1-101, the first of the site
        customer = f.customer(world.a1)
        with changes_nothing():
            r = client_for(world.clerk).post(
                f"/counter/customers/{customer.pk}/open-account/",
                {"unit": "1-101", "utility": "electricity", "mode": "local", "billing": "prepaid"},
            )
        assert r.status_code == 400 and 'id="form-errors"' in r.content.decode()
        assert "already has an open" in r.content.decode()

    def test_it_hides_another_sites_customer_and_refuses_the_wrong_role(self, world: Any) -> None:
        customer = f.customer(world.a1)
        url = f"/counter/customers/{customer.pk}/open-account/"
        assert client_for(world.clerk_a2).get(url).status_code == 404
        assert client_for(world.clerk_b).get(url).status_code == 404
        assert client_for(world.cashier).get(url).status_code == 403


class AssignMeterTestCase:
    def test_it_assigns_a_stock_meter(self, world: Any) -> None:
        acc = f.account(world.a1)
        meter = world.a1.meters[0]
        url = f"/counter/accounts/{acc.pk}/assign-meter/"
        c = client_for(world.clerk)
        assert c.get(url).status_code == 200
        r = c.post(url, {"meter": meter.serial, "opening_reading": "12.5"})
        assert r.status_code == 302 and r["Location"] == f"/counter/accounts/{acc.pk}/"
        inst = Installation.objects.get(account=acc)
        assert inst.meter == meter and inst.opening_reading == Decimal("12.5")

    def test_it_shows_an_unknown_serial_and_a_refused_meter(self, world: Any) -> None:
        acc = f.account(world.a1)
        faulty = f.meter(world.a1, status=MeterStatus.FAULTY)
        c = client_for(world.clerk)
        with changes_nothing():
            r = c.post(f"/counter/accounts/{acc.pk}/assign-meter/", {"meter": "NOPE", "opening_reading": "0"})
            assert r.status_code == 400 and "No meter with serial number NOPE" in r.content.decode()
            r = c.post(
                f"/counter/accounts/{acc.pk}/assign-meter/", {"meter": faulty.serial, "opening_reading": "0"}
            )
            assert r.status_code == 400 and "is not in stock" in r.content.decode()

    def test_it_refuses_the_wrong_role_and_hides_other_sites(self, world: Any) -> None:
        acc = f.account(world.a1)
        url = f"/counter/accounts/{acc.pk}/assign-meter/"
        assert client_for(world.cashier).get(url).status_code == 403
        assert client_for(world.finance).post(url, {}).status_code == 403
        assert client_for(world.clerk_a2).get(url).status_code == 404
        assert client_for(world.clerk_b).get(url).status_code == 404


class ReplaceMeterTestCase:
    def form(self, new_serial: str, closing: str = "150") -> dict[str, str]:
        return {
            "old_closing_reading": closing,
            "remaining_credit": "5",
            "new_meter": new_serial,
            "new_opening_reading": "0",
            "reason": "display broken",
            "old_meter_faulty": "on",
        }

    def test_it_replaces_the_meter_carrying_the_credit(self, world: Any) -> None:
        old, new = world.a1.meters[0], world.a1.meters[1]
        acc = f.account(world.a1, meter_=old)
        url = f"/counter/accounts/{acc.pk}/replace-meter/"
        c = client_for(world.clerk)
        assert c.get(url).status_code == 200
        r = c.post(url, self.form(new.serial))
        assert r.status_code == 302
        current = Installation.objects.get(account=acc, ended_at__isnull=True)
        assert current.meter == new and current.credit_carried_in == Decimal("5")
        old.refresh_from_db()
        assert old.status == MeterStatus.FAULTY
        assert AuditEvent.objects.filter(verb="meter.replace", actor=world.clerk).exists()

    def test_it_shows_a_backwards_reading(self, world: Any) -> None:
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        with changes_nothing():
            r = client_for(world.clerk).post(
                f"/counter/accounts/{acc.pk}/replace-meter/", self.form(world.a1.meters[1].serial, "10")
            )
        assert r.status_code == 400 and "below its opening reading" in r.content.decode()

    def test_it_refuses_the_wrong_role_and_hides_other_sites(self, world: Any) -> None:
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        url = f"/counter/accounts/{acc.pk}/replace-meter/"
        assert client_for(world.cashier).get(url).status_code == 403
        assert client_for(world.clerk_a2).get(url).status_code == 404


class TransferTestCase:
    def test_it_transfers_to_another_customer(self, world: Any) -> None:
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        new = f.customer(world.a1)
        url = f"/counter/accounts/{acc.pk}/transfer/"
        c = client_for(world.clerk)
        page = c.get(url)
        assert page.status_code == 200 and 'name="idempotency_key"' in page.content.decode()
        key = page.context["form"].initial["idempotency_key"]
        r = c.post(url, {"new_customer": new.number, "reading": "120", "idempotency_key": key})
        assert r.status_code == 302
        acc.refresh_from_db()
        assert acc.customer == new

    def test_it_shows_an_unknown_customer_and_the_same_customer(self, world: Any) -> None:
        acc = f.account(world.a1)
        c = client_for(world.clerk)
        with changes_nothing():
            r = c.post(f"/counter/accounts/{acc.pk}/transfer/", {"new_customer": "NOPE", "reading": "1"})
            assert r.status_code == 400 and "No customer with number NOPE" in r.content.decode()
            r = c.post(
                f"/counter/accounts/{acc.pk}/transfer/", {"new_customer": acc.customer.number, "reading": "1"}
            )
            assert r.status_code == 400 and "already belongs" in r.content.decode()

    def test_it_refuses_the_wrong_role_and_hides_other_sites(self, world: Any) -> None:
        acc = f.account(world.a1)
        url = f"/counter/accounts/{acc.pk}/transfer/"
        assert client_for(world.auditor).get(url).status_code == 403
        assert client_for(world.clerk_b).get(url).status_code == 404


class CloseAccountTestCase:
    def test_it_closes_the_account_and_releases_the_meter(self, world: Any) -> None:
        meter = world.a1.meters[0]
        acc = f.account(world.a1, meter_=meter)
        c = client_for(world.clerk)
        assert c.get(f"/counter/accounts/{acc.pk}/close/").status_code == 200
        r = c.post(f"/counter/accounts/{acc.pk}/close/", {"final_reading": "130", "remaining_credit": "0"})
        assert r.status_code == 302
        acc.refresh_from_db()
        meter.refresh_from_db()
        assert acc.status == AccountStatus.CLOSED and meter.status == MeterStatus.IN_STOCK

    def test_it_shows_closing_twice(self, world: Any) -> None:
        acc = f.account(world.a1, status=AccountStatus.CLOSED)
        with changes_nothing():
            r = client_for(world.clerk).post(
                f"/counter/accounts/{acc.pk}/close/", {"final_reading": "0", "remaining_credit": "0"}
            )
        assert r.status_code == 400 and "already closed" in r.content.decode()

    def test_it_refuses_the_wrong_role_and_hides_other_sites(self, world: Any) -> None:
        acc = f.account(world.a1)
        url = f"/counter/accounts/{acc.pk}/close/"
        assert client_for(world.cashier).post(url, {}).status_code == 403
        assert client_for(world.clerk_a2).post(url, {}).status_code == 404


class MeterTokensTestCase:
    def test_it_issues_a_management_token_and_lists_it(self, world: Any, sts_meter: Any) -> None:
        c = client_for(world.clerk)
        assert c.get(f"/counter/meters/{sts_meter.pk}/management-token/").status_code == 200
        r = c.post(
            f"/counter/meters/{sts_meter.pk}/management-token/",
            {"kind": "clear_tamper", "value": "0", "reason": "tamper after inspection"},
        )
        assert r.status_code == 302 and r["Location"] == f"/counter/meters/{sts_meter.pk}/tokens/"
        token = IssuedToken.objects.get(meter=sts_meter)
        html = c.get(r["Location"]).content.decode()
        assert str(token) in html

    def test_it_issues_key_change_tokens(self, world: Any, sts_meter: Any) -> None:
        r = client_for(world.admin).post(
            f"/counter/meters/{sts_meter.pk}/key-change/",
            {"key_revision": "2", "ken": "255", "reason": "annual key rotation"},
        )
        assert r.status_code == 302
        change = KeyChange.objects.get(meter=sts_meter)
        assert change.new["key_revision"] == 2 and change.tokens.count() == 2

    def test_it_shows_a_refusal(self, world: Any, sts_meter: Any) -> None:
        with changes_nothing():
            r = client_for(world.clerk).post(
                f"/counter/meters/{sts_meter.pk}/key-change/", {"ken": "255", "reason": "nothing"}
            )
        assert r.status_code == 400 and "same as the current" in r.content.decode()

    def test_it_refuses_the_wrong_role_and_hides_other_sites(self, world: Any, sts_meter: Any) -> None:
        for url in ("tokens", "management-token", "key-change"):
            assert client_for(world.cashier).get(f"/counter/meters/{sts_meter.pk}/{url}/").status_code == 403
            assert client_for(world.clerk_a2).get(f"/counter/meters/{sts_meter.pk}/{url}/").status_code == 404


class RelayCommandTestCase:
    def test_it_queues_a_trip_with_the_reason(self, world: Any) -> None:
        from prepay.telemetry.models import MeterCommand

        acc = f.account(world.a1, meter_=world.a1.meters[0])
        url = f"/counter/accounts/{acc.pk}/relay/"
        c = client_for(world.clerk)
        key = c.get(url).context["form"].initial["idempotency_key"]
        data = {"kind": "trip", "reason": "dispute, site visit", "idempotency_key": key}
        assert c.post(url, data).status_code == 302
        assert c.post(url, data).status_code == 302  # a double submit queues once
        cmd = MeterCommand.objects.get()
        assert (cmd.kind, cmd.reason, cmd.requested_by) == ("trip", "dispute, site visit", world.clerk)

    def test_it_shows_a_missing_reason_and_queues_nothing(self, world: Any) -> None:
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        r = client_for(world.clerk).post(
            f"/counter/accounts/{acc.pk}/relay/", {"kind": "close", "reason": " ", "idempotency_key": "k"}
        )
        assert r.status_code == 400
        from prepay.telemetry.models import MeterCommand

        assert not MeterCommand.objects.exists()

    def test_it_refuses_the_wrong_role_and_hides_other_sites(self, world: Any) -> None:
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        url = f"/counter/accounts/{acc.pk}/relay/"
        assert client_for(world.cashier).get(url).status_code == 403
        assert client_for(world.clerk_a2).get(url).status_code == 404
        assert (
            client_for(world.clerk)
            .get(f"/counter/accounts/{f.account(world.a1, unit=world.a1.units[1]).pk}/relay/")
            .status_code
            == 404
        )
