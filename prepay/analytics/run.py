"""The daily analysis of one site and day: summarise the readings, gather the facts, score every
account, keep the scores and open or update the cases. Idempotent: running a day again gives the same
scores and cases (a case checked meanwhile stays checked).

Contract of :func:`analyse_site`:

* :class:`DailyUsage` of the day is replaced (``prepay.analytics.daily``);
* every account with use in the streak look-back, an offline networked meter, tokens to enter or a
  branch losing energy is assessed (:func:`prepay.domain.anomaly.assess`); one :class:`Score` row is
  kept per account whose score is above 0 (the day's rows are replaced);
* an account scoring at least the site's ``flag_score`` gets its open case updated (score, reasons,
  last day) — or a new case, unless a case already covers the day;
* one :class:`AnalysisRun` row per site and day records the counts (and a failure's error).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from prepay.analytics import daily, facts, features
from prepay.analytics.choices import CaseStatus, RunStatus
from prepay.analytics.models import AnalysisRun, AnalyticsSettings, Case, Score
from prepay.analytics.sql import dialect
from prepay.domain.anomaly import Assessment, Facts, Peer, Stats, Thresholds, Windows, assess
from prepay.tenancy.models import Site

Step = Callable[[str], None]


@dataclass(frozen=True)
class Outcome:
    site: Site
    day: date
    meters: int
    scored: int
    flagged: int


def windows(t: Thresholds) -> Windows:
    return Windows(
        recent_days=t.recent_days,
        baseline_days=t.baseline_days,
        lookback_days=t.lookback_days,
        min_history_days=t.min_history_days,
        drop_percent=t.low_drop_percent,
        min_baseline=t.min_baseline,
        near_zero=t.near_zero,
    )


def peer_label(ct_name: str, band: int, bands: tuple[int, ...]) -> str:
    """ "Residential, 60–90 m²" (the band's bounds)."""
    lo = bands[band - 1] if band > 0 else 0
    hi = f"{bands[band]}" if band < len(bands) else "+"
    return f"{ct_name}, {lo}–{hi} m²" if hi != "+" else f"{ct_name}, ≥{lo} m²"


def gather(
    site: Site, day: date, t: Thresholds, bands: tuple[int, ...], *, sql: bool | None = None
) -> dict[int, Facts]:
    """Every account's :class:`Facts` on ``day`` (see the module contract for who is included).

    ``sql``: compute the statistics and peers in SQL (default: on PostgreSQL) or in Python."""
    from prepay.customers.models import CustomerType

    w = windows(t)
    in_sql = dialect().pg if sql is None else sql
    stats = features.stats_sql(site.pk, day, w) if in_sql else features.stats_python(site.pk, day, w)
    groups = features.account_groups(site.pk, bands)
    peers = features.peers_sql(site.pk, day, w, bands) if in_sql else features.peers_python(stats, groups, w)
    names = dict(CustomerType.objects.filter(group_id=site.group_id).values_list("pk", "name"))
    out: dict[int, Facts] = {}
    for acc, s in stats.items():
        p = peers.get(groups.get(acc, (-1, -1)))
        peer = (
            None
            if p is None
            else Peer(peer_label(names.get(p.customer_type_id, ""), p.band, bands), p.median, p.mad, p.count)
        )
        out[acc] = Facts(stats=s, peer=peer)
    partials = [
        facts.register_facts(site.pk, day, t),
        facts.tamper_facts(site.pk, day, t),
        facts.offline_facts(site.pk, day, t),
        facts.token_facts(site.pk, day, t),
        facts.line_loss_facts(site.pk, day, t, stats),
        facts.false_alarm_facts(site.pk, day, t),
    ]
    for part in partials:
        for acc, values in part.items():
            f = out.setdefault(acc, Facts(stats=Stats()))
            for key, value in values.items():
                setattr(f, key, value)
    return out


def _keep(site: Site, day: date, results: dict[int, Assessment], flag_score: int) -> tuple[int, int]:
    """Replace the day's scores; open or update cases. Returns (scored, flagged)."""
    rows = [
        Score(
            site=site, account_id=acc, day=day, score=a.score, raw_score=a.raw_score, reasons=reasons_json(a)
        )
        for acc, a in results.items()
        if a.score > 0 or a.raw_score > 0
    ]
    flagged = {acc: a for acc, a in results.items() if a.score >= flag_score}
    with transaction.atomic():
        Score.objects.filter(site=site, day=day).delete()
        Score.objects.bulk_create(rows, batch_size=2000)
        open_cases = {
            c.account_id: c
            for c in Case.objects.filter(site=site, status=CaseStatus.OPEN, account_id__in=flagged)
        }
        covered = set(
            Case.objects.filter(
                site=site, account_id__in=flagged, opened_on__lte=day, last_day__gte=day
            ).values_list("account_id", flat=True)
        )
        new, changed = [], []
        for acc, a in flagged.items():
            case = open_cases.get(acc)
            if case is not None and case.opened_on <= day:
                if day >= case.last_day:
                    case.last_day, case.score, case.reasons = day, a.score, reasons_json(a)
                    case.signals = signal_codes(a)
                    changed.append(case)
            elif acc not in covered and case is None:
                new.append(
                    Case(
                        site=site,
                        account_id=acc,
                        opened_on=day,
                        last_day=day,
                        score=a.score,
                        reasons=reasons_json(a),
                        signals=signal_codes(a),
                    )
                )
        Case.objects.bulk_update(changed, ["last_day", "score", "reasons", "signals"], batch_size=1000)
        Case.objects.bulk_create(new, batch_size=1000)
    return len(rows), len(flagged)


def signal_codes(a: Assessment) -> str:
    """The reasons' codes as ``,bypass,low_own,`` (see ``Case.signals``)."""
    return "," + ",".join(r.code for r in a.reasons) + ","


def reasons_json(a: Assessment) -> list[dict[str, Any]]:
    return [{"code": r.code, "points": r.points, "params": r.params} for r in a.reasons]


def analyse_site(site: Site, day: date, *, step: Step | None = None) -> Outcome:
    """Analyse ``site`` on ``day`` (see the module contract)."""
    say = step or (lambda _label: None)
    conf = AnalyticsSettings.for_site(site.pk)
    t, bands = conf.thresholds(), conf.bands
    run, _ = AnalysisRun.objects.update_or_create(
        site=site, day=day, defaults={"status": RunStatus.RUNNING, "started_at": timezone.now(), "error": ""}
    )
    try:
        say("summarise")
        meters = daily.summarise(site.pk, day)
        say("facts")
        gathered = gather(site, day, t, bands)
        say("score")
        results = {acc: assess(f, t, day) for acc, f in gathered.items()}
        scored, flagged = _keep(site, day, results, t.flag_score)
    except Exception as exc:
        AnalysisRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=str(exc)[:300], finished_at=timezone.now()
        )
        raise
    AnalysisRun.objects.filter(pk=run.pk).update(
        status=RunStatus.DONE, finished_at=timezone.now(), meters=meters, scored=scored, flagged=flagged
    )
    say("done")
    return Outcome(site, day, meters, scored, flagged)


def sites(code: str | None = None) -> Any:
    qs = Site.objects.order_by("pk")
    return qs.filter(Q(code=code)) if code else qs


__all__ = ["Outcome", "analyse_site", "gather", "peer_label", "reasons_json", "sites", "windows"]
