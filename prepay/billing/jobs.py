"""Work for the ``runbilling`` daemon: continuous charging, daily and monthly settlement jobs.

Contract:

* :func:`charge_due` charges remote-control accounts with readings newer than their last charge,
  :data:`BATCH` accounts per transaction (:func:`prepay.billing.charging.charge_batch`), skipping
  accounts another worker has locked (``select_for_update(skip_locked=True)``), so several workers
  share the work without overlap.
* :func:`schedule` makes sure each site has a daily job for yesterday and a monthly job for last month
  (unique per kind, site and period: creating them twice is harmless).
* :func:`claim` takes one due job atomically (queued, or running with an expired claim — a worker
  that died) with ``skip_locked``; :func:`run_job` runs it. Every step of a job is idempotent
  (charges by meter and period, fees by schedule and period, bills and apportionment by period), so
  re-running a job, or a job that died half way, changes nothing already done.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from prepay.audit.actions import record_event
from prepay.billing import actions, supply
from prepay.billing.charging import charge_batch
from prepay.billing.lookups import run_cache
from prepay.billing.models import BillingJob, Charge, JobKind, JobStatus, PublicMeterGroup
from prepay.customers.choices import AccountMode, AccountStatus
from prepay.customers.models import Account
from prepay.meters.models import Installation
from prepay.telemetry.models import MeterReading
from prepay.tenancy.models import Site

CLAIM_FOR = timedelta(minutes=30)
MAX_ATTEMPTS = 5
BATCH = 100  # accounts charged per transaction by charge_due
Progress = Callable[[int, int], None]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def uncharged_installations(**readings: Any) -> Any:
    """Installations in use whose meter has a reading (among those matching ``readings``) after its
    account's last charge and after the installation began: readings still to charge."""
    last_charge = Charge.objects.filter(account=OuterRef("account")).order_by("-period_end")
    since = Greatest(Coalesce(Subquery(last_charge.values("period_end")[:1]), "started_at"), "started_at")
    after = MeterReading.objects.filter(meter=OuterRef("meter"), read_at__gt=OuterRef("since"), **readings)
    return Installation.objects.filter(ended_at__isnull=True).annotate(since=since).filter(Exists(after))


def due_accounts(site_id: int | None = None) -> Any:
    """Ids of open remote-control accounts with readings still to charge. An EXISTS from the last
    charge on: on PostgreSQL it reads the readings' partitions from that month on until it finds one,
    never the months before."""
    pending = uncharged_installations().filter(account=OuterRef("pk"))
    qs = Account.objects.filter(mode=AccountMode.REMOTE, status=AccountStatus.OPEN).filter(Exists(pending))
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    return qs.order_by("pk").values_list("pk", flat=True)


def charge_due(
    *, until: datetime | None = None, site_id: int | None = None, progress: Progress | None = None
) -> int:
    """Charge every account with new readings; returns how many accounts were charged."""
    ids = list(due_accounts(site_id))
    until = until or timezone.now()
    done = 0
    with run_cache():
        for n in range(0, len(ids), BATCH):
            chunk = ids[n : n + BATCH]
            done += len(charge_batch(chunk, until=until))
            if progress:
                progress(min(n + BATCH, len(ids)), len(ids))
    return done


def schedule(now: datetime | None = None) -> int:
    """Create the daily (yesterday) and monthly (last month) jobs of every site; returns how many."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    yesterday = today - timedelta(days=1)
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    created = 0
    for site in Site.objects.order_by("pk"):
        for kind, start, end in (
            (JobKind.DAILY, yesterday, today),
            (JobKind.MONTHLY, last_month, this_month),
        ):
            _job, new = BillingJob.objects.get_or_create(
                kind=kind,
                site=site,
                period_start=start,
                defaults={"period_end": end, "due_at": actions.local_midnight(end)},
            )
            created += int(new)
    return created


def enqueue(kind: str, site: Site, start: date) -> BillingJob:
    """A job for ``site`` and the period starting ``start`` (re-queued if it exists: a manual re-run)."""
    end = start + timedelta(days=1) if kind == JobKind.DAILY else actions.month_bounds(start)[1]
    job, new = BillingJob.objects.get_or_create(
        kind=kind, site=site, period_start=start, defaults={"period_end": end, "due_at": timezone.now()}
    )
    if not new:
        BillingJob.objects.filter(pk=job.pk).update(
            status=JobStatus.QUEUED, due_at=timezone.now(), claimed_until=None
        )
        job.refresh_from_db()
    return job


def claim(worker: str, now: datetime | None = None) -> BillingJob | None:
    """Atomically take the oldest due job (or one whose worker's claim expired)."""
    now = now or timezone.now()
    with transaction.atomic():
        job = (
            BillingJob.objects.select_for_update(skip_locked=True)
            .filter(due_at__lte=now)
            .filter(
                Q(status=JobStatus.QUEUED)
                | Q(status=JobStatus.RUNNING, claimed_until__lt=now)
                | Q(status=JobStatus.FAILED, attempts__lt=MAX_ATTEMPTS)
            )
            .order_by("due_at", "pk")
            .first()
        )
        if job is None:
            return None
        job.status = JobStatus.RUNNING
        job.claimed_by = worker
        job.claimed_until = now + CLAIM_FOR
        job.attempts += 1
        job.save(update_fields=["status", "claimed_by", "claimed_until", "attempts"])
        return job


def _progress(job: BillingJob, outer: Progress | None) -> Progress:
    def step(done: int, total: int) -> None:
        if done == total or done % 50 == 0:
            BillingJob.objects.filter(pk=job.pk).update(done=done, total=total)
        if outer:
            outer(done, total)

    return step


def run_job(job: BillingJob, *, progress: Progress | None = None) -> BillingJob:
    """Run a claimed job to the end; a failure is recorded on the job (and retried when claimed again)."""
    step = _progress(job, progress)
    until = actions.local_midnight(job.period_end)
    try:
        charged = charge_due(until=min(until, timezone.now()), site_id=job.site_id, progress=step)
        result: dict[str, Any] = {"charged": charged}
        if job.kind == JobKind.MONTHLY:
            result["fees"] = len(actions.charge_fees(job.site, job.period_start))
            result["bills"] = len(actions.issue_bills(job.site, job.period_start))
            runs = 0
            for group in PublicMeterGroup.objects.filter(site=job.site, active=True).order_by("pk"):
                with transaction.atomic():
                    actions.run_apportionment(group, job.period_start, job.period_end)
                runs += 1
            result["apportionment"] = runs
        watched = 0
        for pk in supply.accounts_to_watch(job.site_id).order_by("pk").values_list("pk", flat=True):
            with transaction.atomic():
                acc = Account.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
                if acc is not None:
                    supply.evaluate_supply(acc)
                    watched += 1
        result["evaluated"] = watched
    except Exception as exc:  # recorded for the operator; the claim expires and another run retries
        BillingJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED,
            error=str(exc)[:300],
            due_at=timezone.now() + timedelta(minutes=5 * job.attempts),
        )
        raise
    with transaction.atomic():
        record_event(
            actor=None,
            verb=f"billing.settle.{job.kind}",
            obj=job,
            group_id=job.site.group_id,
            site_id=job.site_id,
            after={k: str(v) for k, v in result.items()},
        )
        BillingJob.objects.filter(pk=job.pk).update(
            status=JobStatus.DONE,
            result={k: str(v) for k, v in result.items()},
            finished_at=timezone.now(),
            error="",
        )
    job.refresh_from_db()
    return job


#: more work each pass of the billing daemon does after its own, registered by the apps above
#: billing when they are ready (analytics: the daily suspicious-consumption run): name → a function
#: returning how much it did
TICK_WORK: dict[str, Callable[[], int]] = {}


def register_tick_work(name: str, work: Callable[[], int]) -> None:
    """Called from an app's ``ready``: the daemon runs ``work`` on every pass and reports its count
    under ``name``. A failure is the work's own to record; it never stops billing."""
    TICK_WORK[name] = work


def tick(worker: str, *, progress: Progress | None = None) -> dict[str, int]:
    """One pass of the daemon: charge new readings, keep-power for protected supply that began or ended,
    schedule and run due jobs, tell clerks of supply restores still unconfirmed, the registered work
    (:data:`TICK_WORK`), send notifications."""
    from prepay.billing.supply import sync_protections
    from prepay.notify.actions import deliver_pending
    from prepay.telemetry.actions import alert_overdue_commands

    protections = sync_protections()
    out = {
        "charged": charge_due(),
        "keep_power": protections["keep_power"],
        "released": protections["released"],
        "scheduled": schedule(),
        "jobs": 0,
    }
    while (job := claim(worker)) is not None:
        run_job(job, progress=progress)
        out["jobs"] += 1
    # a paid customer is never left cut off unnoticed: the clerks hear of a close still unconfirmed
    out["restores_overdue"] = alert_overdue_commands()
    for name, work in TICK_WORK.items():  # e.g. "analysed": yesterday's analysis, once a day per site
        out[name] = work()
    out["notified"] = deliver_pending()
    return out
