"""The daemon's batch path charges exactly as the one-account path, and writes warnings the same way."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from prepay.audit.models import AuditEvent
from prepay.billing import actions
from prepay.billing.charging import charge_batch
from prepay.billing.models import Charge, SupplyState
from prepay.notify.models import Notification
from prepay.telemetry.models import MeterCommand
from prepay.vending import ledger
from tests.billing.conftest import at, hours, meter_of, pay, read, remote_account, tariff
from tests.billing.test_charging import TOU


def figures(acc: Any) -> list[tuple[Any, ...]]:
    return list(
        Charge.objects.filter(account=acc)
        .order_by("period_start")
        .values_list("period_start", "period_end", "energy", "tier_energy", "amount", "vat", "lines", "flags")
    )


class ChargeBatchTestCase:
    def test_it_charges_like_the_one_account_path(self, world: Any) -> None:
        w = world.a1
        t = tariff(w, "tou", "tou", TOU, price="0.6000", vat_rate=Decimal("0.13"), vat_included=False)
        one = remote_account(w, tariff=t, opening="999990")
        many = [remote_account(w, tariff=t, opening="999990", unit=u) for u in w.units[1:3]]
        for acc in [one, *many]:
            pay(acc, "20.00", f"p{acc.pk}")
            for i, when in enumerate(hours(at(2026, 3, 31, 20), 8)):
                read(meter_of(acc), when, str((999990 + i * 10) % 1000000))  # rollover, month end
        with transaction.atomic():
            actions.charge_and_evaluate(one, until=at(2026, 4, 2))
        assert sorted(charge_batch([a.pk for a in many], until=at(2026, 4, 2))) == sorted(a.pk for a in many)
        expected = figures(one)
        assert len(expected) == 2  # cut at the month start
        for acc in many:
            assert figures(acc) == expected
            assert ledger.balance_of(acc) == ledger.balance_of(one) < 0
            assert list(
                Notification.objects.filter(account=acc).order_by("pk").values_list("key", flat=True)
            ) == [
                "level1",
                "level2",
                "zero",
            ]
            assert MeterCommand.objects.filter(meter=meter_of(acc), kind="trip").count() == 1
            assert SupplyState.objects.get(account=acc).cut == "zero"
        assert charge_batch([a.pk for a in many], until=at(2026, 4, 2)) == [
            a.pk for a in sorted(many, key=lambda a: a.pk)
        ]
        assert sum(len(figures(a)) for a in many) == 4  # re-run: nothing new
        # one audit event for the batch's postings (the re-run posted nothing, so wrote none)
        event = AuditEvent.objects.get(verb="billing.charge_batch")
        posted = Charge.objects.filter(account__in=many, entry__isnull=False)
        assert event.site_id == w.site.pk and event.after["accounts"] == sorted(a.pk for a in many)
        assert event.after["entries"] == posted.count()
        assert Decimal(event.after["amount"]) == sum(c.amount for c in posted)

    def test_it_skips_local_and_closed_accounts(self, world: Any) -> None:
        from tests import factories as f

        local = f.account(world.a1, meter_=f.meter(world.a1))
        assert charge_batch([local.pk], until=at(2026, 4, 2)) == []
