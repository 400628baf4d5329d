"""The tariff engine's refusals in the person's language.

``prepay.domain.tariffs`` raises ``TariffError(field, message, code, **params)`` with an English
message (for logs); :func:`tariff_error_text` says the same from ``code`` and ``params`` through
gettext, for the editor (next to the field or row) and the configuration check. A code without a
translation falls back to a translated sentence quoting the English detail.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from prepay.domain.tariffs import TariffError

_TEXTS: dict[str, Any] = {
    "required": _("Required."),
    "float": _("Write the number as text, e.g. 0.5880."),
    "not_number": _("Must be a plain number such as 0.5880 (digits and at most one decimal point)."),
    "too_large": _("The number is too large."),
    "too_many_places": _("At most %(places)s decimal places."),
    "must_exceed": _("Must be more than %(minimum)s."),
    "at_least": _("Must be at least %(minimum)s."),
    "not_ascending": _("Must be above the previous block's limit, %(previous)s: blocks go up."),
    "too_long": _("At most %(max_length)s characters."),
    "not_choice": _("Must be one of %(allowed)s."),
    "not_object": _("The stored definition is malformed here: an object is expected."),
    "not_list": _("The stored definition is malformed here: a list is expected."),
    "empty": _("At least one row is required."),
    "unknown_key": _("Unknown setting (a typo?); allowed here: %(allowed)s."),
    "schema_version": _("Unsupported definition version; expected %(expected)s."),
    "cycle_required": _("A tiered tariff needs a cycle (month or year)."),
    "unbounded_not_last": _("Only the last block may be open-ended: give this block an upper limit."),
    "last_bounded": _("The last block must be open-ended: leave its upper limit empty."),
    "period_name": _("A period name is lower-case letters, digits and _."),
    "not_time": _("%(value)s is not a time of day (HH:MM; 24:00 only as an end)."),
    "schedule_row": _("Expected a row of start, end and period."),
    "no_price": _("Period %(name)s has no price; priced periods: %(priced)s."),
    "empty_period": _("The period is empty: it starts and ends at the same time."),
    "overlap": _(
        "Overlaps the period before it: starts at %(start)s, but the day is covered until %(expected)s."
    ),
    "gap": _("Leaves a gap: %(expected)s–%(start)s is not covered by any period."),
    "uncovered": _("The day is not covered after %(after)s: the last period must end at 24:00."),
    "schedule_and_schedules": _(
        "Give either one schedule for every day or schedules per day type, not both."
    ),
    "workday_required": _("The workday schedule is required (weekends and holidays fall back to it)."),
    "not_month_day": _("%(value)s is not a month and day (MM-DD)."),
    "season_overlap": _("Overlaps season %(other)s on %(day)s."),
    "seasons_do_not_cover": _("A schedule is required: the seasons do not cover every day of the year."),
    "tou_price_required": _(
        "Required: the price prepaid energy is sold at (there is no flat period to take it from)."
    ),
    "vat_fraction": _("The VAT rate must be below 100 percent."),
    "not_bool": _("Must be yes or no."),
    "duplicate": _("%(name)s is listed twice."),
    "max_below_min": _("Must not be below the minimum purchase, %(minimum)s."),
}


def tariff_error_text(exc: TariffError) -> str:
    """``exc`` as one sentence in the active language (without its field path)."""
    text = _TEXTS.get(exc.code)
    if text is None:
        return str(_("Not valid: %(detail)s") % {"detail": exc.message})
    try:
        return str(text) % exc.params if exc.params else str(text)
    except (KeyError, TypeError, ValueError):  # a parameter the message does not expect
        return str(_("Not valid: %(detail)s") % {"detail": exc.message})
