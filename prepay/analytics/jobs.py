"""The analysis as daily work of the billing daemon: ``runbilling`` calls :func:`run_due` each pass.

Contract: once a day per site, for yesterday (site wall clock). A site whose run for yesterday is done,
or running for less than :data:`CLAIM_FOR` (another worker), is skipped; a failed run is tried again
after :data:`RETRY_AFTER`. A failure is logged and recorded on its :class:`AnalysisRun`, never raised:
billing must go on whatever the analysis does. Returns how many sites were analysed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from prepay.analytics.choices import RunStatus
from prepay.analytics.models import AnalysisRun
from prepay.analytics.run import analyse_site
from prepay.tenancy.models import Site

log = logging.getLogger(__name__)
CLAIM_FOR = timedelta(minutes=30)
RETRY_AFTER = timedelta(hours=1)


def run_due(now: datetime | None = None) -> int:
    now = now or timezone.now()
    day = timezone.localdate(now) - timedelta(days=1)
    busy = AnalysisRun.objects.filter(day=day).filter(
        Q(status=RunStatus.DONE)
        | Q(status=RunStatus.RUNNING, started_at__gt=now - CLAIM_FOR)
        | Q(status=RunStatus.FAILED, finished_at__gt=now - RETRY_AFTER)
    )
    done = 0
    for site in Site.objects.exclude(pk__in=busy.values("site_id")).order_by("pk"):
        try:
            analyse_site(site, day)
            done += 1
        except Exception:  # recorded on the run by analyse_site; billing carries on
            log.exception("analysis of %s on %s failed", site.code, day)
    return done
