"""Suspicious-consumption analysis (用电可疑户分析), pure Python.

* :mod:`.stats` — median, MAD and robust z-scores with PostgreSQL's ``percentile_cont`` arithmetic;
* :mod:`.daily` — one meter's day from its readings (use, falls, resets, bypass use, credit entered);
* :mod:`.features` — an account's seasonal baseline, streaks of low and zero days, peer figures;
* :mod:`.signals` — the rules: points and worded reasons per signal, the combined score, feedback.

The Django side (``prepay.analytics``) feeds these from the database — on PostgreSQL mostly in SQL,
computing the same figures — and stores the scores and cases.
"""

from __future__ import annotations

from prepay.domain.anomaly.daily import (
    DaySummary,
    Point,
    RelayChange,
    register_capacity,
    relay_open_at,
    summarise_day,
)
from prepay.domain.anomaly.features import DayUse, Stats, Windows, account_stats, size_band
from prepay.domain.anomaly.signals import (
    Assessment,
    Facts,
    LineLoss,
    Peer,
    Reason,
    Thresholds,
    assess,
    combine,
    kwh,
    percent,
)
from prepay.domain.anomaly.stats import MAD_SCALE, mad, median, robust_z

__all__ = [
    "MAD_SCALE",
    "Assessment",
    "DaySummary",
    "DayUse",
    "Facts",
    "LineLoss",
    "Peer",
    "Point",
    "Reason",
    "RelayChange",
    "Stats",
    "Thresholds",
    "Windows",
    "account_stats",
    "assess",
    "combine",
    "kwh",
    "mad",
    "median",
    "percent",
    "register_capacity",
    "relay_open_at",
    "robust_z",
    "size_band",
    "summarise_day",
]
