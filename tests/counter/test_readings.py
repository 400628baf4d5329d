"""Readings a clerk types (配表 / 换表 / 过户 / 销户): prefilled with the meter's last polled reading, and
a reading far from it (below, or far above) runs nothing until the clerk confirms it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from prepay.counter.lifecycle_forms import CONFIRM
from prepay.customers.choices import AccountStatus
from prepay.customers.models import Account
from prepay.meters.choices import MeterStatus
from prepay.meters.models import Installation
from prepay.telemetry.models import MeterReading
from tests import factories as f
from tests.counter.conftest import client_for
from tests.helpers import changes_nothing

BELOW = "is below the last reading polled from meter"
FAR = "is far above the last reading polled from meter"
CONFIRM_BOX = f'name="{CONFIRM}"'


def polled(meter: Any, register: str, ago: timedelta = timedelta(hours=1)) -> MeterReading:
    return MeterReading.objects.create(
        meter=meter, read_at=timezone.now() - ago, register=Decimal(register), energy=Decimal(register)
    )


def account_with_readings(world: Any) -> Any:
    """An account whose meter (opening reading 100) was polled at 480 two days ago and 500 an hour
    ago; the newest, not the largest, is the last reading."""
    meter = world.a1.meters[0]
    acc = f.account(world.a1, meter_=meter)
    polled(meter, "480", timedelta(days=2))
    polled(meter, "500")
    return acc


def warned(r: Any) -> bool:
    html = r.content.decode()
    return r.status_code == 400 and CONFIRM_BOX in html and 'id="form-errors"' in html


class TransferReadingTestCase:
    def url(self, acc: Any) -> str:
        return f"/counter/accounts/{acc.pk}/transfer/"

    def post(self, c: Any, acc: Any, new: Any, reading: str, **extra: str) -> Any:
        data = {"new_customer": new.number, "reading": reading, "idempotency_key": f"t-{reading}"}
        return c.post(self.url(acc), data | extra)

    def test_it_is_prefilled_with_the_last_polled_reading(self, world: Any) -> None:
        acc = account_with_readings(world)
        r = client_for(world.clerk).get(self.url(acc))
        assert r.context["form"]["reading"].value() == Decimal("500")
        html = r.content.decode()
        assert 'name="reading" value="500' in html and "Last polled reading: 500" in html
        assert CONFIRM_BOX not in html

    def test_a_reading_below_it_changes_nothing_until_confirmed(self, world: Any) -> None:
        acc = account_with_readings(world)
        old_owner, new = acc.customer, f.customer(world.a1)
        c = client_for(world.clerk)
        with changes_nothing():
            r = self.post(c, acc, new, "450")
        assert warned(r) and BELOW in r.content.decode() and "(500.000 at" in r.content.decode()
        acc.refresh_from_db()
        assert acc.customer == old_owner
        with changes_nothing():
            assert warned(self.post(c, acc, new, "450", **{CONFIRM: "false"}))  # an unticked box
        r = self.post(c, acc, new, "450", **{CONFIRM: "on"})
        assert r.status_code == 302, r.content.decode()
        acc.refresh_from_db()
        assert acc.customer == new

    def test_a_reading_far_above_it_changes_nothing_until_confirmed(self, world: Any) -> None:
        acc = account_with_readings(world)
        old_owner, new = acc.customer, f.customer(world.a1)
        c = client_for(world.clerk)
        with changes_nothing():
            r = self.post(c, acc, new, "5000")  # a single-phase meter uses at most 200 kWh a day
        assert warned(r) and FAR in r.content.decode()
        acc.refresh_from_db()
        assert acc.customer == old_owner
        assert self.post(c, acc, new, "5000", **{CONFIRM: "on"}).status_code == 302
        acc.refresh_from_db()
        assert acc.customer == new

    def test_a_near_reading_runs_without_confirmation(self, world: Any) -> None:
        acc = account_with_readings(world)
        new = f.customer(world.a1)
        r = self.post(client_for(world.clerk), acc, new, "650")  # +150 within a day
        assert r.status_code == 302
        acc.refresh_from_db()
        assert acc.customer == new

    def test_the_allowance_grows_with_the_days_since_the_reading(self, world: Any) -> None:
        meter = world.a1.meters[0]
        acc = f.account(world.a1, meter_=meter)
        polled(meter, "500", timedelta(days=2, hours=12))  # a part day counts: up to 3 × 200 kWh
        new = f.customer(world.a1)
        c = client_for(world.clerk)
        with changes_nothing():
            assert warned(self.post(c, acc, new, "1101"))
        assert self.post(c, acc, new, "1099").status_code == 302

    def test_without_a_polled_reading_there_is_no_prefill_and_no_warning(self, world: Any) -> None:
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        c = client_for(world.clerk)
        r = c.get(self.url(acc))
        assert r.context["form"]["reading"].value() is None
        assert "Last polled reading" not in r.content.decode()
        new = f.customer(world.a1)
        assert self.post(c, acc, new, "99999").status_code == 302
        acc.refresh_from_db()
        assert acc.customer == new

    def test_a_meter_with_a_multiplier_allows_less_on_its_register(self, world: Any) -> None:
        from prepay.meters.models import Meter

        ct = Meter.objects.create(
            group=world.a1.group, site=world.a1.site, serial="CT-40", model=world.a1.three, ct_ratio=40
        )
        acc = f.account(world.a1, meter_=ct)
        polled(ct, "500")  # 5000 kWh a day ÷ 40 = 125 on the register
        new = f.customer(world.a1)
        c = client_for(world.clerk)
        with changes_nothing():
            r = self.post(c, acc, new, "626")
        assert warned(r) and FAR in r.content.decode() and "more than 125.0 since" in r.content.decode()
        assert self.post(c, acc, new, "624").status_code == 302


class CloseReadingTestCase:
    def test_prefill_warning_and_confirmation(self, world: Any) -> None:
        acc = account_with_readings(world)
        url = f"/counter/accounts/{acc.pk}/close/"
        c = client_for(world.clerk)
        assert c.get(url).context["form"]["final_reading"].value() == Decimal("500")
        with changes_nothing():
            r = c.post(url, {"final_reading": "200", "remaining_credit": "0"})
        assert warned(r) and BELOW in r.content.decode()
        acc.refresh_from_db()
        assert acc.status == AccountStatus.OPEN
        r = c.post(url, {"final_reading": "200", "remaining_credit": "0", CONFIRM: "on"})
        assert r.status_code == 302
        acc.refresh_from_db()
        assert acc.status == AccountStatus.CLOSED

    def test_a_near_reading_closes_at_once(self, world: Any) -> None:
        acc = account_with_readings(world)
        r = client_for(world.clerk).post(
            f"/counter/accounts/{acc.pk}/close/", {"final_reading": "510", "remaining_credit": "0"}
        )
        assert r.status_code == 302
        assert Account.objects.get(pk=acc.pk).status == AccountStatus.CLOSED


class ReplaceReadingTestCase:
    def form(self, new: Any, closing: str, opening: str, **extra: str) -> dict[str, str]:
        return {
            "old_closing_reading": closing,
            "remaining_credit": "0",
            "new_meter": new.serial,
            "new_opening_reading": opening,
            "reason": "display broken",
            "old_meter_faulty": "on",
        } | extra

    def test_the_old_meters_closing_reading_is_prefilled_and_checked(self, world: Any) -> None:
        acc = account_with_readings(world)
        new = world.a1.meters[1]
        url = f"/counter/accounts/{acc.pk}/replace-meter/"
        c = client_for(world.clerk)
        assert c.get(url).context["form"]["old_closing_reading"].value() == Decimal("500")
        with changes_nothing():
            r = c.post(url, self.form(new, "300", "0"))
        assert warned(r) and BELOW in r.content.decode()
        assert not Installation.objects.filter(meter=new).exists()
        assert c.post(url, self.form(new, "300", "0", **{CONFIRM: "on"})).status_code == 302
        assert Installation.objects.get(account=acc, ended_at__isnull=True).meter == new

    def test_the_new_meters_opening_reading_is_checked_against_its_own_poll(self, world: Any) -> None:
        acc = account_with_readings(world)
        new = world.a1.meters[1]
        polled(new, "40")
        url = f"/counter/accounts/{acc.pk}/replace-meter/"
        c = client_for(world.clerk)
        with changes_nothing():
            r = c.post(url, self.form(new, "505", "0"))
        html = r.content.decode()
        assert warned(r) and BELOW in html and new.serial in html
        assert acc.installations.get(ended_at__isnull=True).meter == world.a1.meters[0]
        assert c.post(url, self.form(new, "505", "41")).status_code == 302
        current = Installation.objects.get(account=acc, ended_at__isnull=True)
        assert current.meter == new and current.opening_reading == Decimal("41")


class AssignReadingTestCase:
    def test_the_meters_last_reading_is_checked_and_the_picker_offers_it(self, world: Any) -> None:
        acc = f.account(world.a1)
        meter = world.a1.meters[0]
        polled(meter, "300")
        url = f"/counter/accounts/{acc.pk}/assign-meter/"
        c = client_for(world.clerk)
        form = c.get(url).content.decode()
        assert 'hx-get="/counter/pick/meters/"' in form and 'id="id_meter-picks"' in form
        assert (
            f"&quot;account&quot;: {acc.pk}" in form
            and "&quot;fill&quot;: &quot;id_opening_reading&quot;" in form
        )
        picks = c.get(
            "/counter/pick/meters/",
            {
                "account": acc.pk,
                "field": "meter",
                "meter": meter.serial,
                "box": "id_meter",
                "fill": "id_opening_reading",
            },
        ).content.decode()
        assert "id_opening_reading" in picks and "300.000" in picks
        with changes_nothing():
            r = c.post(url, {"meter": meter.serial, "opening_reading": "10"})
        assert warned(r) and BELOW in r.content.decode()
        meter.refresh_from_db()
        assert meter.status == MeterStatus.IN_STOCK
        assert c.post(url, {"meter": meter.serial, "opening_reading": "10", CONFIRM: "on"}).status_code == 302
        assert Installation.objects.get(account=acc).opening_reading == Decimal("10")

    def test_a_near_reading_assigns_at_once(self, world: Any) -> None:
        acc = f.account(world.a1)
        meter = world.a1.meters[0]
        polled(meter, "300")
        r = client_for(world.clerk).post(
            f"/counter/accounts/{acc.pk}/assign-meter/", {"meter": meter.serial, "opening_reading": "300"}
        )
        assert r.status_code == 302 and Installation.objects.get(account=acc).meter == meter

    def test_a_meter_never_polled_assigns_without_warning(self, world: Any) -> None:
        acc = f.account(world.a1)
        meter = world.a1.meters[0]
        r = client_for(world.clerk).post(
            f"/counter/accounts/{acc.pk}/assign-meter/", {"meter": meter.serial, "opening_reading": "7"}
        )
        assert r.status_code == 302 and Installation.objects.get(account=acc).meter == meter
