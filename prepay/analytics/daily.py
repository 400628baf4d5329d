# ruff: noqa: S608 - the SQL is built from constant fragments; every value is a bound parameter
"""Readings → :class:`DailyUsage`: one meter's day in one SQL statement per site, no row in Python.

The rules are :mod:`prepay.domain.anomaly.daily`'s (tests/analytics/test_daily_sql.py checks the SQL
against that reference on both databases). The statement works in levels over one *source* of rows
per meter, in time order:

* state rows (``ord`` 0): the relay state before the first relay event (that event's ``from``, else
  the link's state), then one row per relay event (its ``to``);
* the previous day's last reading, kept on that day's row (``ord`` 1), so the interval ending on the
  day's first reading counts on this day;
* the day's readings (``ord`` 2).

Level a carries the relay state forward (``count(state)`` numbers the groups), b keeps readings with
``is_open``, c adds the previous reading (``lag``), d classifies each interval, e its use, seconds
and power, f ranks the largest step, the largest reset and the last reading; the aggregate makes the
row. On PostgreSQL the source is built per meter inside ``CROSS JOIN LATERAL`` from index range scans
(``(meter_id, read_at)``), so the cost follows the day's readings, not the table's size, and no big
sort is needed; elsewhere (SQLite, and the plain variant kept for the agreement test) one source
holds every meter of the site.

Re-running a day replaces its rows (idempotent). Days are computed in order: a day reads the row of
the day before.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.utils import timezone

from prepay.analytics.sql import Dialect, capacity_sql, dialect, params

#: the instant of the state row before any relay event (earlier than any reading)
ORIGIN = datetime(1900, 1, 1, tzinfo=UTC)

COLUMNS = (
    "readings",
    "open_readings",
    "exhausted_readings",
    "first_at",
    "last_at",
    "usage",
    "backwards",
    "backwards_steps",
    "reset_steps",
    "reset_drop",
    "reset_at",
    "reset_from",
    "reset_to",
    "max_step",
    "max_step_secs",
    "max_step_at",
    "bypass",
    "bypass_steps",
    "credit_added",
    "sharp",
    "peak",
    "flat",
    "valley",
    "last_register",
    "last_energy",
    "last_balance",
    "last_sharp",
    "last_peak",
    "last_flat",
    "last_valley",
)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[local midnight of ``day``, local midnight of the next day) in the current time zone."""
    tz = timezone.get_current_timezone()
    return (
        datetime.combine(day, time.min, tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz),
    )


def _levels(src: str, d: Dialect) -> str:
    """The levels a–f over ``src`` (columns: meter_id, t, ord, eid, st, reg, en, bal, s1–s4, cap, mult)."""
    w = "PARTITION BY meter_id"
    lag = ", ".join(
        f"lag({c}) OVER (PARTITION BY meter_id ORDER BY t) AS p_{c}"
        for c in ("t", "reg", "en", "bal", "s1", "s2", "s3", "s4", "is_open")
    )
    return f"""
    SELECT e.*,
      row_number() OVER ({w} ORDER BY CASE WHEN pw IS NULL THEN 1 ELSE 0 END, pw DESC, t) AS prk,
      row_number() OVER ({w} ORDER BY CASE WHEN kind = 'z' THEN 0 ELSE 1 END, p_en - en DESC, t) AS rrk,
      row_number() OVER ({w} ORDER BY t DESC) AS lrk
    FROM (
      SELECT dd.*,
        CASE WHEN use_ > 0 AND secs > 0 THEN {d.double("use_")} * 3600 / secs END AS pw
      FROM (
        SELECT k.*,
          CASE k.kind WHEN 'f' THEN en - p_en WHEN 'r' THEN en - p_en + cap * mult ELSE 0 END AS use_,
          {d.epoch("t")} - {d.epoch("p_t")} AS secs
        FROM (
          SELECT c.*,
            CASE WHEN p_en IS NULL THEN NULL
                 WHEN en >= p_en THEN 'f'
                 WHEN p_reg * 10 >= cap * 9 AND reg * 10 < cap THEN 'r'
                 WHEN reg * 20 < p_reg THEN 'z'
                 ELSE 'b' END AS kind
          FROM (
            SELECT b.*, {lag}
            FROM (
              SELECT a.*, CASE WHEN max(st) OVER ({w}, grp) = 'open' THEN 1 ELSE 0 END AS is_open
              FROM (
                SELECT s.*, count(st) OVER ({w} ORDER BY t, ord, eid ROWS UNBOUNDED PRECEDING) AS grp
                FROM ({src}) s
              ) a
            ) b WHERE ord > 0
          ) c
        ) k
      ) dd
    ) e"""


def _aggregate(levels: str) -> str:
    def tou(i: int) -> str:
        return (
            f"CASE WHEN sum(CASE WHEN ord = 2 AND s{i} IS NOT NULL THEN 1 ELSE 0 END) = 0 THEN NULL "
            f"ELSE sum(CASE WHEN s{i} >= p_s{i} THEN s{i} - p_s{i} ELSE 0 END) END"
        )

    def last(col: str) -> str:
        return f"max(CASE WHEN lrk = 1 THEN {col} END)"

    bypass = "use_ > 0 AND ((p_is_open = 1 AND is_open = 1) OR (p_bal <= 0 AND bal <= 0))"
    return f"""
    SELECT meter_id,
      sum(CASE WHEN ord = 2 THEN 1 ELSE 0 END) AS readings,
      sum(CASE WHEN ord = 2 AND is_open = 1 THEN 1 ELSE 0 END) AS open_readings,
      sum(CASE WHEN ord = 2 AND bal <= 0 THEN 1 ELSE 0 END) AS exhausted_readings,
      min(CASE WHEN ord = 2 THEN t END) AS first_at, max(t) AS last_at,
      sum(use_) AS usage,
      sum(CASE WHEN kind = 'b' THEN p_en - en ELSE 0 END) AS backwards,
      sum(CASE WHEN kind = 'b' THEN 1 ELSE 0 END) AS backwards_steps,
      sum(CASE WHEN kind = 'z' THEN 1 ELSE 0 END) AS reset_steps,
      max(CASE WHEN rrk = 1 AND kind = 'z' THEN p_en - en END) AS reset_drop,
      max(CASE WHEN rrk = 1 AND kind = 'z' THEN t END) AS reset_at,
      max(CASE WHEN rrk = 1 AND kind = 'z' THEN p_en END) AS reset_from,
      max(CASE WHEN rrk = 1 AND kind = 'z' THEN en END) AS reset_to,
      max(CASE WHEN prk = 1 AND pw IS NOT NULL THEN use_ END) AS max_step,
      max(CASE WHEN prk = 1 AND pw IS NOT NULL THEN secs END) AS max_step_secs,
      max(CASE WHEN prk = 1 AND pw IS NOT NULL THEN t END) AS max_step_at,
      sum(CASE WHEN {bypass} THEN use_ ELSE 0 END) AS bypass,
      sum(CASE WHEN {bypass} THEN 1 ELSE 0 END) AS bypass_steps,
      sum(CASE WHEN bal > p_bal THEN bal - p_bal ELSE 0 END) AS credit_added,
      {tou(1)} AS sharp, {tou(2)} AS peak, {tou(3)} AS flat, {tou(4)} AS valley,
      {last("reg")} AS last_register, {last("en")} AS last_energy, {last("bal")} AS last_balance,
      {last("s1")} AS last_sharp, {last("s2")} AS last_peak, {last("s3")} AS last_flat, {last("s4")} AS last_valley
    FROM ({levels}) f
    GROUP BY meter_id"""


def _source(d: Dialect, meter: str, *, per_meter: bool) -> str:
    """Rows of the source for one meter (``meter`` = ``m``, inside LATERAL) or for a site's meters."""
    cap, mult = capacity_sql(meter, d), f"({meter}.ct_ratio * {meter}.pt_ratio)"
    nulls = ", ".join(["CAST(NULL AS bigint)"] * 7)
    named = ", ".join(f"CAST(NULL AS bigint) AS {c}" for c in ("reg", "en", "bal", "s1", "s2", "s3", "s4"))
    first_from = (
        f"(SELECT {d.json_text('e0.detail', 'from')} FROM telemetry_meterevent e0 "
        f"WHERE e0.meter_id = {meter}.id AND e0.kind = 'relay' ORDER BY e0.at, e0.id LIMIT 1)"
    )
    link = f"(SELECT l.relay_state FROM telemetry_meterlink l WHERE l.meter_id = {meter}.id)"
    if per_meter:
        own, join = f"= {meter}.id", ""
        prev = (
            "(SELECT p.meter_id, p.last_at AS t, 1 AS ord, CAST(0 AS bigint) AS eid, CAST(NULL AS text) AS st, "
            "p.last_register, p.last_energy, p.last_balance, p.last_sharp, p.last_peak, p.last_flat, "
            f"p.last_valley, {cap} AS cap, {mult} AS mult FROM analytics_dailyusage p "
            f"WHERE p.meter_id = {meter}.id AND p.day < {d.date('day')} ORDER BY p.day DESC LIMIT 1)"
        )
        head = f"SELECT {meter}.id AS meter_id"
        tail = ""
    else:
        own, join = f"= {meter}.id", f" JOIN meters_meter {meter} ON {meter}.id = "
        prev = (
            "SELECT p.meter_id, p.last_at, 1, 0, NULL, p.last_register, p.last_energy, p.last_balance, "
            f"p.last_sharp, p.last_peak, p.last_flat, p.last_valley, {cap}, {mult} "
            f"FROM analytics_dailyusage p{join}p.meter_id WHERE {meter}.site_id = %(site)s "
            "AND p.day = (SELECT max(q.day) FROM analytics_dailyusage q "
            f"WHERE q.meter_id = p.meter_id AND q.day < {d.date('day')})"
        )
        head = f"SELECT {meter}.id AS meter_id"
        tail = f" FROM meters_meter {meter} WHERE {meter}.site_id = %(site)s"
    state0 = (
        f"{head}, {d.timestamp('origin')} AS t, 0 AS ord, CAST(0 AS bigint) AS eid, "
        f"COALESCE({first_from}, {link}, 'unknown') AS st, {named}, {cap} AS cap, {mult} AS mult{tail}"
    )
    where_e = f"e.meter_id {own}" if per_meter else f"{meter}.site_id = %(site)s"
    events = (
        f"SELECT e.meter_id, e.at, 0, e.id, {d.json_text('e.detail', 'to')}, {nulls}, {cap}, {mult} "
        f"FROM telemetry_meterevent e{join + 'e.meter_id' if join else ''} "
        f"WHERE {where_e} AND e.kind = 'relay' AND e.at < {d.timestamp('end')}"
    )
    where_r = f"r.meter_id {own}" if per_meter else f"{meter}.site_id = %(site)s"
    readings = (
        "SELECT r.meter_id, r.read_at, 2, r.id, NULL, r.register, r.energy, r.balance, "
        f"r.sharp, r.peak, r.flat, r.valley, {cap}, {mult} "
        f"FROM telemetry_meterreading r{join + 'r.meter_id' if join else ''} "
        f"WHERE {where_r} AND r.read_at >= {d.timestamp('start')} AND r.read_at < {d.timestamp('end')}"
    )
    return " UNION ALL ".join([state0, events, prev, readings])


def _account() -> str:
    return (
        "(SELECT i.account_id FROM meters_installation i WHERE i.meter_id = m.id "
        f"AND i.started_at < {dialect().timestamp('end')} "
        f"AND (i.ended_at IS NULL OR i.ended_at > {dialect().timestamp('start')}) "
        "ORDER BY i.started_at DESC, i.id DESC LIMIT 1)"
    )


def summary_sql(d: Dialect, *, lateral: bool) -> str:
    """SELECT meter_id, site_id, account_id, day, <COLUMNS> for the site's meters with readings."""
    cols = ", ".join(f"a.{c}" for c in COLUMNS)
    if lateral:
        body = _aggregate(_levels(_source(d, "m", per_meter=True), d))
        return (
            f"SELECT m.id, m.site_id, {_account()}, {d.date('day')}, {cols} "
            f"FROM meters_meter m CROSS JOIN LATERAL ({body}) a "
            "WHERE m.site_id = %(site)s AND a.readings > 0"
        )
    body = _aggregate(_levels(_source(d, "mm", per_meter=False), d))
    return (
        f"SELECT m.id, m.site_id, {_account()}, {d.date('day')}, {cols} "
        f"FROM ({body}) a JOIN meters_meter m ON m.id = a.meter_id WHERE a.readings > 0"
    )


def summarise(site_id: int, day: date, *, lateral: bool | None = None) -> int:
    """Replace the site's :class:`DailyUsage` rows of ``day``; returns how many meters had readings.

    ``lateral`` picks the statement (default: per meter on PostgreSQL, the plain one elsewhere).
    """
    d = dialect()
    use_lateral = d.pg if lateral is None else lateral
    start, end = day_bounds(day)
    values = params({"site": site_id, "day": day, "start": start, "end": end, "origin": ORIGIN})
    insert = f"INSERT INTO analytics_dailyusage (meter_id, site_id, account_id, day, {', '.join(COLUMNS)}) "
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "DELETE FROM analytics_dailyusage WHERE site_id = %(site)s AND day = " + d.date("day"), values
        )
        cur.execute(insert + summary_sql(d, lateral=use_lateral), values)
        return cur.rowcount
