"""The runbilling daemon: scheduling, atomic claims, settlements that re-run safely, the command."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from prepay.billing import jobs
from prepay.billing.models import BillingJob, Charge, FeeSchedule, JobStatus
from prepay.vending.models import LedgerEntry
from tests.billing.conftest import at, meter_of, read, remote_account


def snapshot() -> tuple[Any, ...]:
    return (
        list(LedgerEntry.objects.order_by("pk").values_list("account_id", "amount", "balance_after")),
        Charge.objects.count(),
    )


class JobsTestCase:
    def test_it_schedules_each_period_once(self, world: Any) -> None:
        assert jobs.schedule() == 6  # three sites × daily + monthly
        assert jobs.schedule() == 0

    def test_it_claims_a_job_once(self, world: Any) -> None:
        jobs.schedule()
        first = jobs.claim("w1")
        assert first is not None and first.status == JobStatus.RUNNING
        claimed = {first.pk}
        while (j := jobs.claim("w2")) is not None:
            claimed.add(j.pk)
        assert claimed == set(BillingJob.objects.values_list("pk", flat=True))
        later = timezone.now() + jobs.CLAIM_FOR + timedelta(minutes=1)
        assert jobs.claim("w3", now=later) is not None  # a dead worker's job is taken over

    def test_it_settles_a_month_and_changes_nothing_when_run_again(self, world: Any) -> None:
        w = world.a1
        acc = remote_account(w)
        read(meter_of(acc), at(2026, 3, 10), "50")
        read(meter_of(acc), at(2026, 4, 2), "70")  # after the month: not in March's settlement
        FeeSchedule.objects.create(
            site=w.site,
            account=acc,
            kind="service",
            name="Service",
            amount=Decimal("10"),
            frequency="monthly",
            starts_on=date(2026, 1, 1),
        )
        out = StringIO()
        call_command("runbilling", settle="monthly", site="a1", date="2026-03-05", stdout=out)
        assert "charged=1" in out.getvalue() and "fees=1" in out.getvalue()
        assert [c.period_end for c in Charge.objects.all()] == [at(2026, 3, 10)]
        before = snapshot()
        call_command("runbilling", settle="monthly", site="a1", date="2026-03-01", stdout=StringIO())
        assert snapshot() == before
        job = BillingJob.objects.get(kind="monthly", period_start=date(2026, 3, 1))
        assert (job.status, job.attempts) == (JobStatus.DONE, 2)

    def test_it_runs_one_pass(self, world: Any) -> None:
        acc = remote_account(world.a1)
        read(meter_of(acc), at(2026, 3, 10), "50")
        out = StringIO()
        call_command("runbilling", once=True, stdout=out)
        assert "charged 1 accounts" in out.getvalue() and Charge.objects.count() == 1

    def test_it_stops_on_ctrl_c_with_a_word_not_a_traceback(self, world: Any, monkeypatch: Any) -> None:
        def interrupted(*args: Any, **kwargs: Any) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(jobs, "tick", interrupted)
        out = StringIO()
        call_command("runbilling", stdout=out)  # the loop, not --once: it returns instead of raising
        assert out.getvalue().strip().endswith("Stopped.")

    def test_it_refuses_bad_arguments(self, world: Any) -> None:
        with pytest.raises(CommandError):
            call_command("runbilling", settle="daily", site="nowhere", date="2026-03-01")
        with pytest.raises(CommandError):
            call_command("runbilling", settle="daily", site="a1", date="March")
        with pytest.raises(CommandError):
            call_command("runbilling", settle="daily")


class ConcurrentWorkersTestCase:
    def test_it_never_charges_twice_with_several_workers(self, pg_transactional: Any) -> None:
        from tests import factories as f

        w = f.site_world(f.group("gc"), "c1")
        accounts = [remote_account(w, meter=f.meter(w), unit=u) for u in w.units]
        for acc in accounts:
            for h in range(1, 6):
                read(meter_of(acc), at(2026, 3, 1, h), str(h * 3))
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                jobs.charge_due()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert Charge.objects.count() == len(accounts)
        assert LedgerEntry.objects.count() == len(accounts)
        assert all(e.amount == Decimal("-8.82") for e in LedgerEntry.objects.all())  # 15 kWh × 0.588
