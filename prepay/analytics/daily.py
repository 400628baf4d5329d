# ruff: noqa: S608 - the SQL is built from constant fragments; every value is a bound parameter
"""Readings → :class:`DailyUsage`: one meter's day in one SQL statement per site, no row in Python.

The rules are :mod:`prepay.domain.anomaly.daily`'s (tests/analytics/test_daily_sql.py checks the SQL
against that reference on both databases). The statement reads, per meter and in time order, the
previous day's last reading (kept on that day's row, ``ord`` 1 — so the interval ending on the day's
first reading counts on this day) and the day's readings (``ord`` 2). Each row knows whether the
relay was open then: the ``to`` of the latest relay event at or before it, before the first event that
event's ``from``, without events the link's state.

Levels: ``lag`` and the last values (one sort, by time), the interval's kind, its use, seconds and
power, then partition-wide maxima pick the largest step and reset (ties: the earliest) without another
sort; the aggregate makes the row. On PostgreSQL the rows come per meter inside ``CROSS JOIN
LATERAL`` from index range scans (``(meter_id, read_at)``), so the cost follows the day's readings, not
the table's size, no big sort is needed, and the relay lookup per reading runs only for meters that
have relay events; elsewhere (SQLite, and the plain variant the agreement test compares) one
statement holds every meter of the site.

Re-running a day replaces its rows (idempotent). Days are computed in order: a day reads the row of
the day before.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.utils import timezone

from prepay.analytics.sql import Dialect, capacity_sql, dialect, params

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


def _levels(src: str, d: Dialect, *, ordered: bool = False) -> str:
    """Levels c–g over ``src`` (columns: meter_id, t, ord, is_open, reg, en, bal, s1–s4, cap, mult).

    One sort (by time, for ``lag`` and the last values); the largest step and reset are found with
    partition-wide maxima (no sort), ties going to the earliest as in the reference."""
    cols = ("t", "reg", "en", "bal", "s1", "s2", "s3", "s4", "is_open")
    w = "PARTITION BY meter_id ORDER BY t"
    whole = f"({w} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
    lag = ", ".join(f"lag({c}) OVER ({w}) AS p_{c}" for c in cols)
    last = ", ".join(f"last_value({c}) OVER {whole} AS l_{c}" for c in cols[1:8])
    p = "PARTITION BY meter_id"
    inner = f"""
        SELECT k.*,
          CASE WHEN use_ > 0 AND secs > 0 THEN {d.double("use_")} * 3600 / secs END AS pw,
          CASE WHEN kind = 'z' THEN p_en - en END AS drop_
        FROM (
          SELECT c.*,
            CASE c.kind WHEN 'f' THEN en - p_en WHEN 'r' THEN en - p_en + cap * mult ELSE 0 END AS use_,
            {d.epoch("t")} - {d.epoch("p_t")} AS secs
          FROM (
            SELECT b.*,
              CASE WHEN p_en IS NULL THEN NULL
                   WHEN en >= p_en THEN 'f'
                   WHEN p_reg * 10 >= cap * 9 AND reg * 10 < cap THEN 'r'
                   WHEN reg * 20 < p_reg THEN 'z'
                   ELSE 'b' END AS kind
            FROM (SELECT s.*, {lag}, {last} FROM ({src}) s) b
          ) c
        ) k"""
    if ordered:
        step = "(PARTITION BY meter_id ORDER BY pw DESC NULLS LAST, t ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
        fall = "(PARTITION BY meter_id ORDER BY drop_ DESC NULLS LAST, t ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
        picks = ", ".join(
            [f"first_value({c}) OVER {step} AS s_{c}" for c in ("pw", "use_", "secs", "t")]
            + [f"first_value({c}) OVER {fall} AS z_{c}" for c in ("drop_", "t", "p_en", "en")]
        )
        return f"SELECT e.*, {picks} FROM ({inner}) e"
    return f"""
    SELECT g.*,
      min(CASE WHEN pw = mx_pw THEN t END) OVER ({p}) AS t_pw,
      min(CASE WHEN drop_ = mx_drop THEN t END) OVER ({p}) AS t_drop
    FROM (
      SELECT e.*, max(pw) OVER ({p}) AS mx_pw, max(drop_) OVER ({p}) AS mx_drop
      FROM ({inner}) e
    ) g"""


def _aggregate(levels: str, *, ordered: bool = False) -> str:
    """The day's row per meter. ``ordered`` (PostgreSQL, per meter): the largest step and reset come
    from ``first_value`` over the rows ordered by power (or fall), then time — one sort each — instead
    of two partition-wide windows each."""

    def tou(i: int) -> str:
        return (
            f"CASE WHEN sum(CASE WHEN ord = 2 AND s{i} IS NOT NULL THEN 1 ELSE 0 END) = 0 THEN NULL "
            f"ELSE sum(CASE WHEN s{i} >= p_s{i} THEN s{i} - p_s{i} ELSE 0 END) END"
        )

    def last(col: str) -> str:
        return f"max(l_{col})"

    def at_step(col: str) -> str:
        if ordered:
            return f"max(CASE WHEN s_pw IS NOT NULL THEN s_{col} END)"
        return f"max(CASE WHEN t = t_pw AND pw = mx_pw THEN {col} END)"

    def at_drop(col: str) -> str:
        if ordered:
            return f"max(CASE WHEN z_drop_ IS NOT NULL THEN z_{col} END)"
        return f"max(CASE WHEN t = t_drop AND drop_ = mx_drop THEN {col} END)"

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
      max(drop_) AS reset_drop, {at_drop("t")} AS reset_at, {at_drop("p_en")} AS reset_from,
      {at_drop("en")} AS reset_to,
      {at_step("use_")} AS max_step, {at_step("secs")} AS max_step_secs, {at_step("t")} AS max_step_at,
      sum(CASE WHEN {bypass} THEN use_ ELSE 0 END) AS bypass,
      sum(CASE WHEN {bypass} THEN 1 ELSE 0 END) AS bypass_steps,
      sum(CASE WHEN bal > p_bal THEN bal - p_bal ELSE 0 END) AS credit_added,
      {tou(1)} AS sharp, {tou(2)} AS peak, {tou(3)} AS flat, {tou(4)} AS valley,
      {last("reg")} AS last_register, {last("en")} AS last_energy, {last("bal")} AS last_balance,
      {last("s1")} AS last_sharp, {last("s2")} AS last_peak, {last("s3")} AS last_flat, {last("s4")} AS last_valley
    FROM ({levels}) f
    GROUP BY meter_id"""


def _relay(d: Dialect, meter: str, *, lateral: bool) -> tuple[str, str, str]:
    """``is_open`` (0/1) of a row at time ``t`` of meter ``meter``: the ``to`` of the latest relay event
    at or before it; before the first event, that event's ``from``; without events, the link's state.
    In the per-meter statement the event lookup runs only for meters that have relay events.

    Returns (the ``is_open`` expression with a ``{t}`` placeholder, the first event's ``from``, the
    link's state) — the last two are the per-meter statement's lateral state columns."""
    latest = (
        f"(SELECT {d.json_text('e1.detail', 'to')} FROM telemetry_meterevent e1 WHERE e1.meter_id = {meter}.id "
        "AND e1.kind = 'relay' AND e1.at <= {t} ORDER BY e1.at DESC, e1.id DESC LIMIT 1)"
    )
    first_from = (
        f"(SELECT {d.json_text('e0.detail', 'from')} FROM telemetry_meterevent e0 "
        f"WHERE e0.meter_id = {meter}.id AND e0.kind = 'relay' ORDER BY e0.at, e0.id LIMIT 1)"
    )
    link = f"(SELECT l.relay_state FROM telemetry_meterlink l WHERE l.meter_id = {meter}.id)"
    if lateral:
        state = f"CASE WHEN st.has_events THEN COALESCE({latest}, st.first_from) ELSE st.link END"
    else:
        state = f"COALESCE({latest}, {first_from}, {link})"
    return f"CASE WHEN {state} = 'open' THEN 1 ELSE 0 END", first_from, link


def _source(d: Dialect, meter: str, *, per_meter: bool) -> str:
    """The previous day's last reading (``ord`` 1) and the day's readings (``ord`` 2) for one meter
    (``meter`` = ``m``, inside LATERAL) or for every meter of the site."""
    cap, mult = capacity_sql(meter, d), f"({meter}.ct_ratio * {meter}.pt_ratio)"
    is_open = _relay(d, meter, lateral=per_meter)[0]
    prev_cols = (
        "p.last_register AS reg, p.last_energy AS en, p.last_balance AS bal, p.last_sharp AS s1, "
        "p.last_peak AS s2, p.last_flat AS s3, p.last_valley AS s4"
    )
    if per_meter:
        prev = (
            f"(SELECT p.meter_id, p.last_at AS t, 1 AS ord, {is_open.format(t='p.last_at')} AS is_open, "
            f"{prev_cols}, {cap} AS cap, {mult} AS mult FROM analytics_dailyusage p "
            f"WHERE p.meter_id = {meter}.id AND p.day < {d.date('day')} ORDER BY p.day DESC LIMIT 1)"
        )
        readings = (
            f"SELECT r.meter_id, r.read_at, 2, {is_open.format(t='r.read_at')}, r.register, r.energy, r.balance, "
            f"r.sharp, r.peak, r.flat, r.valley, {cap}, {mult} FROM telemetry_meterreading r "
            f"WHERE r.meter_id = {meter}.id AND r.read_at >= {d.timestamp('start')} AND r.read_at < {d.timestamp('end')}"
        )
        return f"{prev} UNION ALL {readings}"
    join = f" JOIN meters_meter {meter} ON {meter}.id = "
    prev = (
        f"SELECT p.meter_id, p.last_at AS t, 1 AS ord, {is_open.format(t='p.last_at')} AS is_open, {prev_cols}, "
        f"{cap} AS cap, {mult} AS mult FROM analytics_dailyusage p{join}p.meter_id "
        f"WHERE {meter}.site_id = %(site)s AND p.day = (SELECT max(q.day) FROM analytics_dailyusage q "
        f"WHERE q.meter_id = p.meter_id AND q.day < {d.date('day')})"
    )
    readings = (
        f"SELECT r.meter_id, r.read_at, 2, {is_open.format(t='r.read_at')}, r.register, r.energy, r.balance, "
        f"r.sharp, r.peak, r.flat, r.valley, {cap}, {mult} FROM telemetry_meterreading r{join}r.meter_id "
        f"WHERE {meter}.site_id = %(site)s AND r.read_at >= {d.timestamp('start')} AND r.read_at < {d.timestamp('end')}"
    )
    return f"{prev} UNION ALL {readings}"


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
        _is_open, first_from, link = _relay(d, "m", lateral=True)
        state = (
            "CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM telemetry_meterevent ex WHERE ex.meter_id = m.id "
            f"AND ex.kind = 'relay') AS has_events, {first_from} AS first_from, {link} AS link) st"
        )
        body = _aggregate(_levels(_source(d, "m", per_meter=True), d, ordered=True), ordered=True)
        return (
            f"SELECT m.id, m.site_id, {_account()}, {d.date('day')}, {cols} "
            f"FROM meters_meter m {state} CROSS JOIN LATERAL ({body}) a "
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
    values = params({"site": site_id, "day": day, "start": start, "end": end})
    insert = f"INSERT INTO analytics_dailyusage (meter_id, site_id, account_id, day, {', '.join(COLUMNS)}) "
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "DELETE FROM analytics_dailyusage WHERE site_id = %(site)s AND day = " + d.date("day"), values
        )
        cur.execute(insert + summary_sql(d, lateral=use_lateral), values)
        return cur.rowcount
