"""Reasons in words: a stored reason (``{"code", "points", "params"}``) as a sentence in the active
language (zh-Hans or English), with its figures.

The domain (:mod:`prepay.domain.anomaly.signals`) decides the figures; this module only words them,
so the same case reads in Chinese for one clerk and in English for another. An unknown code (a newer
rule read by older code) is shown as its code and parameters rather than failing the page.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

TEXTS: dict[str, Any] = {
    "low_own": gettext_lazy(
        "used %(usage)s kWh/day for %(days)s days, %(percent)s %% below its own median of %(median)s kWh/day"
    ),
    "low_peer": gettext_lazy(
        "used %(usage)s kWh/day over the last %(days)s days, %(percent)s %% below the median of "
        "%(count)s similar accounts (%(peers)s): %(median)s kWh/day"
    ),
    "zero_closed": gettext_lazy(
        "used %(usage)s kWh/day for %(days)s days while the relay was closed and the meter answered "
        "(empty, or the meter is bypassed)"
    ),
    "bypass": gettext_lazy(
        "used %(energy)s kWh in %(steps)s readings while the relay was open or the meter's credit was "
        "exhausted (last %(days)s days): the relay may be bridged"
    ),
    "backwards": gettext_lazy(
        "the register ran backwards by %(energy)s kWh in %(steps)s steps over the last %(days)s days "
        "(reversed wiring?)"
    ),
    "reset": gettext_lazy(
        "the register fell from %(from)s to %(to)s kWh at %(at)s (a reset; %(count)s in all)"
    ),
    "jump": gettext_lazy(
        "the register jumped by %(energy)s kWh in %(minutes)s minutes at %(at)s, %(times)s times its usual rate"
    ),
    "tamper": gettext_lazy("%(count)s tamper events in %(days)s days (%(kinds)s), the last at %(at)s"),
    "offline": gettext_lazy("offline for %(days)s days (last reading %(at)s) and no purchase since"),
    "token_not_entered": gettext_lazy(
        "%(count)s tokens for %(units)s kWh sold %(first)s – %(last)s, but the meter's credit register "
        "rose by only %(rise)s since"
    ),
    "line_loss_main": gettext_lazy(
        "its branch under master meter %(master)s lost %(percent)s %% over %(days)s days (master "
        "%(master_energy)s kWh, sub-meters %(sub_energy)s kWh, threshold %(threshold)s %%); its use fell "
        "the most in the branch"
    ),
    "line_loss": gettext_lazy(
        "its branch under master meter %(master)s lost %(percent)s %% over %(days)s days (master "
        "%(master_energy)s kWh, sub-meters %(sub_energy)s kWh, threshold %(threshold)s %%)"
    ),
    "false_alarm": gettext_lazy(
        "checked as a false alarm on %(on)s: score lowered by %(percent)s %% until %(until)s"
    ),
}

#: short names of the signals (filters, chart marks, the Excel column)
NAMES: dict[str, Any] = {
    "low_own": gettext_lazy("Far below its own history"),
    "low_peer": gettext_lazy("Far below similar accounts"),
    "zero_closed": gettext_lazy("No use with the relay closed"),
    "bypass": gettext_lazy("Use while cut off (bypass)"),
    "backwards": gettext_lazy("Register running backwards"),
    "reset": gettext_lazy("Register reset"),
    "jump": gettext_lazy("Register jump"),
    "tamper": gettext_lazy("Tamper events"),
    "offline": gettext_lazy("Offline and not buying"),
    "token_not_entered": gettext_lazy("Tokens not entered"),
    "line_loss_main": gettext_lazy("Line loss on its branch"),
    "line_loss": gettext_lazy("Line loss on its branch"),
    "false_alarm": gettext_lazy("Checked as a false alarm"),
}

TAMPER_NAMES: dict[str, Any] = {
    "tamper": gettext_lazy("tamper"),
    "cover_open": gettext_lazy("cover open"),
    "terminal_cover_open": gettext_lazy("terminal cover open"),
    "magnetic": gettext_lazy("magnetic field"),
}


def _kinds(text: str) -> str:
    parts = []
    for item in text.split(","):
        name, _sep, count = item.partition(":")
        if name:
            parts.append(f"{TAMPER_NAMES.get(name, name)} {count}")
    return _(", ").join(parts) if parts else text


def describe(reason: dict[str, Any]) -> str:
    """The sentence of one stored reason, in the active language."""
    code = str(reason.get("code", ""))
    params = dict(reason.get("params") or {})
    if "kinds" in params:
        params["kinds"] = _kinds(str(params["kinds"]))
    text = TEXTS.get(code)
    if text is None:
        return f"{code} {params}"
    try:
        sentence = str(text) % params
    except (KeyError, TypeError, ValueError):
        return f"{code} {params}"
    if code == "low_own" and params.get("factor"):
        sentence += " " + _("(seasonal baseline: ×%(factor)s, as last year)") % params
    return sentence


def name(code: str) -> str:
    return str(NAMES.get(code, code))


def sentences(reasons: list[dict[str, Any]]) -> list[str]:
    return [describe(r) for r in reasons]
