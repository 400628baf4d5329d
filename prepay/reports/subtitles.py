"""The line under a report's title: the period and the filters set, in the active language."""

from __future__ import annotations

import django_filters as df
from django.utils.formats import date_format
from django.utils.translation import gettext

from prepay.domain.reporting import Period


def period_text(period: Period) -> str:
    return gettext("Period: %(start)s to %(end)s") % {
        "start": date_format(period.start, "Y-m-d"),
        "end": date_format(period.end, "Y-m-d"),
    }


def filters_text(fs: df.FilterSet, skip: tuple[str, ...] = ("date_from", "date_to", "month")) -> str:
    """ "Site: A1 · Operator: li" for the filters that are set, in the active language."""
    parts = []
    for name, value in fs.form.cleaned_data.items():
        if name in skip or value in (None, ""):
            continue
        field = fs.form.fields[name]
        shown = (
            dict(field.choices).get(value, value)
            if hasattr(field, "choices") and not hasattr(value, "pk")
            else value
        )
        parts.append(f"{field.label}: {shown}")
    return " · ".join(parts)


def subtitle(period: Period | None, fs: df.FilterSet) -> str:
    """The line under a report's title: its period and the filters that are set."""
    bits = [period_text(period)] if period else []
    if extra := filters_text(fs):
        bits.append(extra)
    return " · ".join(bits)
