# ruff: noqa: S608 - the SQL is built from constant fragments; every value is a bound parameter
"""Each account's statistical features (:class:`prepay.domain.anomaly.Stats`) and its peer group's
figures on day D, from :class:`DailyUsage`.

Two paths give the same numbers (tests/analytics/test_paths_agree.py):

* :func:`stats_sql` — PostgreSQL: medians and MADs with ``percentile_cont``, weekday medians, the
  year-ago month factor, the streaks (last day that broke them, then sums after it) and the recent
  sums, in one statement; only one row per account comes back.
* :func:`stats_python` — any database: the daily rows come back and
  :func:`prepay.domain.anomaly.account_stats` computes the same (SQLite, and the reference).

Peers (:func:`peers_sql`, :func:`peers_python`): accounts of one customer type and unit-size band at
the site, each represented by its mean daily use over the recent window (when it has data on at least
half of it); the group's median, MAD and size.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.db.models import Sum

from prepay.analytics.models import DailyUsage
from prepay.analytics.sql import dialect, params
from prepay.domain.anomaly import DayUse, Stats, Windows, account_stats, mad, median, size_band
from prepay.domain.anomaly.features import MIN_WEEKDAY_SAMPLES, YEAR


@dataclass(frozen=True)
class PeerGroup:
    customer_type_id: int
    band: int
    median: float
    mad: float | None
    count: int


def _bounds(day: date, w: Windows) -> dict[str, Any]:
    ago = day - timedelta(days=YEAR)
    r_lo, _ = w.recent(day)
    b_lo, b_hi = w.baseline(day)
    l_lo, _ = w.lookback(day)
    yr_lo, yr_hi = w.recent(ago)
    yb_lo, yb_hi = w.baseline(ago)
    return {
        "day": day,
        "r_lo": r_lo,
        "b_lo": b_lo,
        "b_hi": b_hi,
        "l_lo": l_lo,
        "lo": min(b_lo, l_lo),
        "yr_lo": yr_lo,
        "yr_hi": yr_hi,
        "yb_lo": yb_lo,
        "yb_hi": yb_hi,
    }


def daily_rows(site_id: int, day: date, w: Windows) -> dict[int, dict[date, DayUse]]:
    """Account → day → use, readings, open readings, over every window the features read."""
    b = _bounds(day, w)
    rows = (
        DailyUsage.objects.filter(site_id=site_id, account__isnull=False)
        .filter(day__gt=b["yb_lo"], day__lte=day)
        .exclude(day__gt=b["yr_hi"], day__lte=b["lo"])
        .values("account_id", "day")
        .annotate(u=Sum("usage"), n=Sum("readings"), o=Sum("open_readings"))
    )
    out: dict[int, dict[date, DayUse]] = defaultdict(dict)
    for r in rows:
        out[r["account_id"]][r["day"]] = DayUse(int(r["u"] * 1000), int(r["n"]), int(r["o"]))
    return out


def stats_python(site_id: int, day: date, w: Windows) -> dict[int, Stats]:
    """The features of every account with daily rows, computed in Python (see the module docstring)."""
    lo, _ = w.lookback(day)
    out = {}
    for account_id, days in daily_rows(site_id, day, w).items():
        if any(lo < d <= day for d in days):
            out[account_id] = account_stats(days, day, w)
    return out


_STATS = """
WITH d AS (
  SELECT account_id, day, CAST(sum(usage) AS bigint) AS u, CAST(sum(readings) AS bigint) AS n,
         CAST(sum(open_readings) AS bigint) AS o
  FROM analytics_dailyusage
  WHERE site_id = %(site)s AND account_id IS NOT NULL
    AND ((day > %(lo)s AND day <= %(day)s) OR (day > %(yb_lo)s AND day <= %(yr_hi)s))
  GROUP BY account_id, day
),
base AS (
  SELECT account_id, count(*) AS nb, percentile_cont(0.5) WITHIN GROUP (ORDER BY u) AS med
  FROM d WHERE day > %(b_lo)s AND day <= %(b_hi)s GROUP BY account_id
),
spread AS (
  SELECT d.account_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(d.u - base.med)) AS mad
  FROM d JOIN base ON base.account_id = d.account_id
  WHERE d.day > %(b_lo)s AND d.day <= %(b_hi)s GROUP BY d.account_id
),
wd AS (
  SELECT account_id, {weekday} AS w, count(*) AS c, percentile_cont(0.5) WITHIN GROUP (ORDER BY u) AS med
  FROM d WHERE day > %(b_lo)s AND day <= %(b_hi)s GROUP BY account_id, {weekday}
),
ya AS (
  SELECT account_id,
    count(*) FILTER (WHERE day > %(yr_lo)s) AS nr,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY u) FILTER (WHERE day > %(yr_lo)s) AS mr,
    count(*) FILTER (WHERE day <= %(yb_hi)s) AS nbb,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY u) FILTER (WHERE day <= %(yb_hi)s) AS mb
  FROM d WHERE day > %(yb_lo)s AND day <= %(yr_hi)s GROUP BY account_id
),
fac AS (
  SELECT base.account_id, base.med,
    CASE WHEN ya.nr >= %(min_recent)s AND ya.nbb >= %(min_hist)s AND ya.mb > 0
         THEN greatest(0.5, least(2.0, ya.mr / ya.mb)) ELSE 1.0 END AS f
  FROM base LEFT JOIN ya ON ya.account_id = base.account_id WHERE base.nb >= %(min_hist)s
),
look AS (
  SELECT d.account_id, d.day, d.u, d.n, d.o,
    CASE WHEN wd.c >= {min_wd} THEN wd.med ELSE fac.med END * fac.f AS e
  FROM d LEFT JOIN fac ON fac.account_id = d.account_id
  LEFT JOIN wd ON wd.account_id = d.account_id AND wd.w = {weekday_d}
  WHERE d.day > %(l_lo)s AND d.day <= %(day)s
),
flags AS (
  SELECT look.*,
    CASE WHEN e >= %(min_baseline)s AND u * 100 < (100 - %(drop)s) * e THEN 1 ELSE 0 END AS low,
    CASE WHEN n > 0 AND o = 0 AND u <= %(near_zero)s THEN 1 ELSE 0 END AS zero
  FROM look
),
breaks AS (
  SELECT account_id, max(CASE WHEN low = 0 THEN day END) AS lb, max(CASE WHEN zero = 0 THEN day END) AS zb
  FROM flags GROUP BY account_id
),
streaks AS (
  SELECT f.account_id,
    sum(CASE WHEN f.low = 1 AND (b.lb IS NULL OR f.day > b.lb) THEN 1 ELSE 0 END) AS ls,
    sum(CASE WHEN f.low = 1 AND (b.lb IS NULL OR f.day > b.lb) THEN f.u ELSE 0 END) AS lu,
    sum(CASE WHEN f.low = 1 AND (b.lb IS NULL OR f.day > b.lb) THEN f.e ELSE 0 END) AS le,
    sum(CASE WHEN f.zero = 1 AND (b.zb IS NULL OR f.day > b.zb) THEN 1 ELSE 0 END) AS zs,
    sum(CASE WHEN f.zero = 1 AND (b.zb IS NULL OR f.day > b.zb) THEN f.u ELSE 0 END) AS zu
  FROM flags f JOIN breaks b ON b.account_id = f.account_id GROUP BY f.account_id
),
recent AS (
  SELECT account_id, count(*) AS rn, sum(u) AS ru FROM d WHERE day > %(r_lo)s AND day <= %(day)s
  GROUP BY account_id
)
SELECT s.account_id, COALESCE(base.nb, 0), fac.med, CASE WHEN fac.account_id IS NOT NULL THEN spread.mad END,
  COALESCE(fac.f, 1.0), s.ls, s.lu, COALESCE(s.le, 0), s.zs, s.zu, COALESCE(recent.rn, 0), COALESCE(recent.ru, 0)
FROM streaks s
LEFT JOIN base ON base.account_id = s.account_id
LEFT JOIN spread ON spread.account_id = s.account_id
LEFT JOIN fac ON fac.account_id = s.account_id
LEFT JOIN recent ON recent.account_id = s.account_id
"""


def _values(site_id: int, day: date, w: Windows) -> dict[str, Any]:
    return params(
        {
            **_bounds(day, w),
            "site": site_id,
            "min_recent": w.min_recent,
            "min_hist": w.min_history_days,
            "min_baseline": w.min_baseline,
            "drop": w.drop_percent,
            "near_zero": w.near_zero,
        }
    )


def stats_sql(site_id: int, day: date, w: Windows) -> dict[int, Stats]:
    """The same features as :func:`stats_python`, computed by PostgreSQL."""
    d = dialect()
    sql = _STATS.format(weekday=d.weekday("day"), weekday_d=d.weekday("d.day"), min_wd=MIN_WEEKDAY_SAMPLES)
    out = {}
    with connection.cursor() as cur:
        cur.execute(sql, _values(site_id, day, w))
        for row in cur.fetchall():
            acc, nb, med, spread, f, ls, lu, le, zs, zu, rn, ru = row
            out[acc] = Stats(
                baseline_days=int(nb),
                median=None if med is None else float(med),
                mad=None if spread is None else float(spread),
                factor=float(f),
                low_streak=int(ls),
                low_usage=int(lu),
                low_expected=float(le),
                zero_streak=int(zs),
                zero_usage=int(zu),
                recent_days=int(rn),
                recent_usage=int(ru),
            )
    return out


# ---------------------------------------------------------------- peers


def _band_sql(bands: tuple[int, ...]) -> str:
    return (
        "("
        + " + ".join([f"CASE WHEN u.area >= {int(b) * 1000} THEN 1 ELSE 0 END" for b in bands] or ["0"])
        + ")"
    )


_PEERS = """
WITH x AS (
  SELECT c.customer_type_id AS ct, {band} AS band, CAST(sum(du.usage) AS double precision) / count(DISTINCT du.day) AS v
  FROM analytics_dailyusage du
  JOIN customers_account a ON a.id = du.account_id
  JOIN customers_customer c ON c.id = a.customer_id
  JOIN customers_unit u ON u.id = a.unit_id
  WHERE du.site_id = %(site)s AND du.day > %(r_lo)s AND du.day <= %(day)s
  GROUP BY du.account_id, c.customer_type_id, u.area
  HAVING count(DISTINCT du.day) >= %(min_recent)s
),
m AS (SELECT ct, band, percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS med, count(*) AS n FROM x GROUP BY ct, band)
SELECT m.ct, m.band, m.med, percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(x.v - m.med)), m.n
FROM m JOIN x ON x.ct = m.ct AND x.band = m.band GROUP BY m.ct, m.band, m.med, m.n
"""


def peers_sql(
    site_id: int, day: date, w: Windows, bands: tuple[int, ...]
) -> dict[tuple[int, int], PeerGroup]:
    sql = _PEERS.format(band=_band_sql(bands))
    with connection.cursor() as cur:
        cur.execute(sql, _values(site_id, day, w))
        return {
            (ct, band): PeerGroup(ct, band, float(med), None if spread is None else float(spread), int(n))
            for ct, band, med, spread, n in cur.fetchall()
        }


def account_groups(site_id: int, bands: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    """Account → (customer type, size band) for the site's accounts."""
    from prepay.customers.models import Account

    rows = Account.objects.filter(site_id=site_id).values_list(
        "pk", "customer__customer_type_id", "unit__area"
    )
    return {pk: (ct, size_band(area, bands)) for pk, ct, area in rows}


def peers_python(
    stats: dict[int, Stats], groups: dict[int, tuple[int, int]], w: Windows
) -> dict[tuple[int, int], PeerGroup]:
    values: dict[tuple[int, int], list[float]] = defaultdict(list)
    for acc, s in stats.items():
        if s.recent_days >= w.min_recent and acc in groups:
            values[groups[acc]].append(s.recent_usage / s.recent_days)
    out = {}
    for key, vals in values.items():
        centre = median(vals)
        assert centre is not None
        out[key] = PeerGroup(key[0], key[1], centre, mad(vals, centre), len(vals))
    return out
