"""Suspicious-consumption signals: each turns an account's facts into points (0–100) and a reason whose
parameters carry the figures, so a clerk reads *why* (the web layer words them in zh-Hans or English).

Contract:

* :func:`assess` applies every rule to one account's :class:`Facts` with a site's :class:`Thresholds`
  and returns an :class:`Assessment`: the reasons (highest points first) and the score
  ``100 × (1 − Π (1 − pᵢ / 100))`` rounded half up — independent signals add up, no single one
  exceeds its own points, and the score never passes 100.
* A false alarm checked recently (``Facts.false_alarm_on`` within ``false_alarm_days``) lowers the
  score by ``false_alarm_percent`` and says so in a reason of its own (0 points).
* Reason parameters are plain text: energies in kWh with one decimal (``"0.4"``), percentages as whole
  numbers, dates ISO. Energies come in as integer Wh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from prepay.domain.anomaly.features import Stats
from prepay.domain.anomaly.stats import robust_z

__all__ = [
    "Assessment",
    "Facts",
    "LineLoss",
    "Peer",
    "Reason",
    "Thresholds",
    "assess",
    "combine",
    "kwh",
    "percent",
]


@dataclass(frozen=True)
class Thresholds:
    """A site's settings (``prepay.analytics.models.AnalyticsSettings`` mirrors these; energies in Wh)."""

    recent_days: int = 7
    baseline_days: int = 56
    lookback_days: int = 28
    min_history_days: int = 14
    low_drop_percent: int = 70
    low_days: int = 5
    min_baseline: int = 500
    robust_z: float = 3.5
    peer_drop_percent: int = 75
    peer_min_accounts: int = 5
    near_zero: int = 100
    zero_days: int = 5
    bypass_min: int = 500
    backwards_min: int = 100
    jump_factor: int = 30
    jump_min: int = 5000
    tamper_count: int = 2
    tamper_window_days: int = 30
    offline_days: int = 7
    token_days: int = 2
    token_window_days: int = 30
    token_rise_percent: int = 50
    flag_score: int = 50
    false_alarm_days: int = 30
    false_alarm_percent: int = 50


@dataclass(frozen=True)
class Reason:
    code: str
    points: int
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Peer:
    """The account's peer group (same customer type and size band) on the recent window."""

    label: str
    median: float
    mad: float | None
    count: int


@dataclass(frozen=True)
class LineLoss:
    master: str
    loss_percent: Decimal
    master_energy: int
    sub_energy: int
    threshold: Decimal
    main_suspect: bool


@dataclass
class Facts:
    """Everything known about one account on the analysed day (energies in Wh)."""

    stats: Stats = field(default_factory=Stats)
    peer: Peer | None = None
    bypass: int = 0
    bypass_steps: int = 0
    backwards: int = 0
    backwards_steps: int = 0
    reset_steps: int = 0
    reset_at: datetime | None = None
    reset_from: int | None = None
    reset_to: int | None = None
    max_step: int | None = None
    max_step_secs: int | None = None
    max_step_at: datetime | None = None
    tamper: dict[str, int] = field(default_factory=dict)
    tamper_last: datetime | None = None
    offline_days: int | None = None
    last_reading: datetime | None = None
    bought_since: bool = False
    tokens: int = 0
    token_units: Decimal = Decimal(0)
    token_first: date | None = None
    token_last: date | None = None
    credit_rise: Decimal | None = None
    line_loss: LineLoss | None = None
    false_alarm_on: date | None = None


@dataclass(frozen=True)
class Assessment:
    score: int
    raw_score: int
    reasons: list[Reason]


def kwh(wh: float | int | None) -> str:
    """Wh → kWh with one decimal, half up: 412 → "0.4"."""
    return str((Decimal(str(wh or 0)) / 1000).quantize(Decimal("0.1"), ROUND_HALF_UP))


def percent(x: float) -> str:
    """A share (0.923) as a whole percentage, half up: "92"."""
    return str((Decimal(str(x)) * 100).quantize(Decimal(1), ROUND_HALF_UP))


def _at(value: datetime | date | None) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value.isoformat()


def _low_own(f: Facts, t: Thresholds) -> Reason | None:
    s = f.stats
    n = s.low_streak
    if n < t.low_days or s.mad is None or s.low_expected <= 0:
        return None
    mean_u, mean_e = s.low_usage / n, s.low_expected / n
    if robust_z(mean_u, mean_e, s.mad, n) > -t.robust_z:
        return None
    drop = 1 - mean_u / mean_e
    points = min(90, 40 + 5 * (n - t.low_days) + (10 if drop >= 0.9 else 0))
    params = {"days": str(n), "usage": kwh(mean_u), "percent": percent(drop), "median": kwh(mean_e)}
    if s.factor != 1.0:
        params["factor"] = f"{s.factor:.2f}"
    return Reason("low_own", points, params)


def _low_peer(f: Facts, t: Thresholds) -> Reason | None:
    p, x = f.peer, f.stats.recent_mean
    if p is None or x is None or p.count < t.peer_min_accounts or p.median <= 0:
        return None
    drop = 1 - x / p.median
    if drop * 100 < t.peer_drop_percent or robust_z(x, p.median, p.mad) > -t.robust_z:
        return None
    params = {
        "days": str(f.stats.recent_days),
        "usage": kwh(x),
        "percent": percent(drop),
        "count": str(p.count),
        "peers": p.label,
        "median": kwh(p.median),
    }
    return Reason("low_peer", 35 + (15 if drop >= 0.9 else 0), params)


def _zero(f: Facts, t: Thresholds) -> Reason | None:
    n = f.stats.zero_streak
    if n < t.zero_days:
        return None
    params = {"days": str(n), "usage": kwh(f.stats.zero_usage / n)}
    return Reason("zero_closed", min(75, 45 + 3 * (n - t.zero_days)), params)


def _register(f: Facts, t: Thresholds, usual: float | None) -> list[Reason]:
    out = []
    if f.bypass >= t.bypass_min and f.bypass_steps >= 2:
        params = {"energy": kwh(f.bypass), "steps": str(f.bypass_steps), "days": str(t.recent_days)}
        out.append(Reason("bypass", min(95, 70 + f.bypass // 1000), params))
    if f.backwards >= t.backwards_min:
        params = {"energy": kwh(f.backwards), "steps": str(f.backwards_steps), "days": str(t.recent_days)}
        out.append(Reason("backwards", 65 + (10 if f.backwards_steps >= 10 else 0), params))
    if f.reset_steps:
        params = {
            "from": kwh(f.reset_from),
            "to": kwh(f.reset_to),
            "at": _at(f.reset_at),
            "count": str(f.reset_steps),
        }
        out.append(Reason("reset", 70, params))
    if f.max_step is not None and f.max_step_secs and usual and f.max_step >= t.jump_min:
        times = f.max_step * 3600 / f.max_step_secs / usual
        if times >= t.jump_factor:
            params = {
                "energy": kwh(f.max_step),
                "minutes": str(round(f.max_step_secs / 60)),
                "at": _at(f.max_step_at),
                "times": str(int(times)),
            }
            out.append(Reason("jump", 55 + (10 if times >= 100 else 0), params))
    return out


def _tamper(f: Facts, t: Thresholds) -> Reason | None:
    count = sum(f.tamper.values())
    if not count:
        return None
    kinds = ",".join(f"{k}:{v}" for k, v in sorted(f.tamper.items()))
    points = min(85, 40 + 10 * (count - t.tamper_count)) if count >= t.tamper_count else 15
    params = {
        "count": str(count),
        "days": str(t.tamper_window_days),
        "kinds": kinds,
        "at": _at(f.tamper_last),
    }
    return Reason("tamper", points, params)


def _offline(f: Facts, t: Thresholds) -> Reason | None:
    if f.offline_days is None or f.offline_days < t.offline_days or f.bought_since:
        return None
    params = {"days": str(f.offline_days), "at": _at(f.last_reading)}
    return Reason("offline", min(70, 45 + 2 * (f.offline_days - t.offline_days)), params)


def _tokens(f: Facts, t: Thresholds) -> Reason | None:
    rise = f.credit_rise
    if (
        not f.tokens
        or rise is None
        or f.token_units <= 0
        or rise * 100 >= f.token_units * t.token_rise_percent
    ):
        return None
    params = {
        "count": str(f.tokens),
        "units": str(f.token_units.quantize(Decimal("0.1"), ROUND_HALF_UP)),
        "first": _at(f.token_first),
        "last": _at(f.token_last),
        "rise": str(rise.quantize(Decimal("0.1"), ROUND_HALF_UP)),
    }
    return Reason("token_not_entered", 60, params)


def _line_loss(f: Facts, t: Thresholds) -> Reason | None:
    ll = f.line_loss
    if ll is None:
        return None
    params = {
        "master": ll.master,
        "percent": str(ll.loss_percent.quantize(Decimal(1), ROUND_HALF_UP)),
        "days": str(t.recent_days),
        "master_energy": kwh(ll.master_energy),
        "sub_energy": kwh(ll.sub_energy),
        "threshold": str(ll.threshold.normalize()),
    }
    return Reason("line_loss_main" if ll.main_suspect else "line_loss", 45 if ll.main_suspect else 10, params)


def combine(points: list[int]) -> int:
    """``100 × (1 − Π (1 − p/100))`` rounded half up."""
    rest = Decimal(1)
    for p in points:
        rest *= (Decimal(100) - max(0, min(100, p))) / 100
    return int(((1 - rest) * 100).quantize(Decimal(1), ROUND_HALF_UP))


def assess(f: Facts, t: Thresholds, day: date) -> Assessment:
    """Score ``f`` on ``day`` (see the module contract)."""
    usual = None
    if f.stats.median:
        usual = f.stats.median / 24
    elif f.peer is not None and f.peer.median > 0:
        usual = f.peer.median / 24
    rules = (_low_own, _low_peer, _zero, _tamper, _offline, _tokens, _line_loss)
    reasons = [r for r in (rule(f, t) for rule in rules) if r is not None] + _register(f, t, usual)
    reasons.sort(key=lambda r: (-r.points, r.code))
    raw = combine([r.points for r in reasons])
    score = raw
    if raw and f.false_alarm_on is not None and day - f.false_alarm_on < timedelta(days=t.false_alarm_days):
        score = int((Decimal(raw) * (100 - t.false_alarm_percent) / 100).quantize(Decimal(1), ROUND_HALF_UP))
        until = f.false_alarm_on + timedelta(days=t.false_alarm_days)
        params = {"on": _at(f.false_alarm_on), "percent": str(t.false_alarm_percent), "until": _at(until)}
        reasons.append(Reason("false_alarm", 0, params))
    return Assessment(score, raw, reasons)
