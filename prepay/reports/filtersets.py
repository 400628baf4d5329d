"""Filters for the reports (django-filter). Every chooser lists only what the user may report on.

A value outside the user's scope (another group's site, point or operator) is not a valid choice:
the form is invalid and the view shows the error and no rows, so an outsider learns nothing — the
answer for another group's site is the same as for a site that does not exist. Dates and months
outside :data:`EARLIEST` … :data:`LATEST`, a range that ends before it starts, and text that is not a
date or a number are form errors too, never server errors.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters as df
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.constants import EMPTY_VALUES

from prepay.domain.reporting import Period, parse_month, ten_day_period
from prepay.reports.queries import REPORTS, local_today
from prepay.reports.sales import day_bounds
from prepay.tenancy.models import Site
from prepay.vending import ledger
from prepay.vending.models import (
    ApprovalStatus,
    PaymentMethod,
    Reversal,
    ReversalKind,
    Vend,
    VendingPoint,
    VendStatus,
)
from prepay.vending.reversals import Settlement

DATE = forms.DateInput(attrs={"type": "date"})
#: the days a report may ask about: wide enough for any real ledger, narrow enough that a day's
#: bounds (and the day after the last) are valid datetimes in every time zone and database
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)


def _out_of_range() -> forms.ValidationError:
    return forms.ValidationError(
        _("Enter a date between %(first)s and %(last)s."),
        code="out_of_range",
        params={"first": EARLIEST.isoformat(), "last": LATEST.isoformat()},
    )


def _check_day(value: date | None) -> date | None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise _out_of_range()
    return value


class PeriodForm(forms.Form):
    """The form of the date-range reports: both days in range, and the range not reversed."""

    def clean_date_from(self) -> date | None:
        return _check_day(self.cleaned_data.get("date_from"))

    def clean_date_to(self) -> date | None:
        return _check_day(self.cleaned_data.get("date_to"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error(
                "date_to", forms.ValidationError(_("The end date is before the start date."), code="reversed")
            )
        return data


class FromDayFilter(df.DateFilter):
    """From the start of a day in the current time zone: a range on the column, which an index on it
    serves (``__date`` would convert every row's time first and read the whole table)."""

    def filter(self, qs: Any, value: date | None) -> Any:
        if value is None:
            return qs
        return qs.filter(**{f"{self.field_name}__gte": day_bounds(Period(value, value))[0]})


class ToDayFilter(df.DateFilter):
    """Up to the end of a day in the current time zone (before the start of the next), as a range."""

    def filter(self, qs: Any, value: date | None) -> Any:
        if value is None:
            return qs
        return qs.filter(**{f"{self.field_name}__lt": day_bounds(Period(value, value))[1]})


class SiteChoiceFilter(df.ModelChoiceFilter):
    """One site among those the user may report on, filtering a queryset of sites down to it.

    (A ``ModelChoiceFilter`` on ``pk`` would compare the id with a ``Site`` object and fail.)
    """

    def filter(self, qs: Any, value: Any) -> Any:
        if value in EMPTY_VALUES:
            return qs
        return qs.filter(pk=value.pk)


def _user(request: Any) -> Any:
    return getattr(request, "user", None)


def report_sites(request: Any) -> QuerySet[Site]:
    return Site.objects.for_user(_user(request), REPORTS).order_by("group__code", "code")


def report_points(request: Any) -> QuerySet[VendingPoint]:
    return VendingPoint.objects.for_user(_user(request), REPORTS).order_by("site__code", "code")


def report_operators(request: Any) -> Any:
    """Users who sold something the requester may report on in the period asked for (the report's
    default period when the dates are missing or not dates), and the operator already chosen if
    they sold anything the requester may report on: choosing them for a period they did not sell in
    lists nothing rather than refusing. Read through the index on the sale time, never every sale."""
    user = _user(request)
    query = getattr(request, "GET", {})
    start, end = day_bounds(_period_asked(query))
    vends = Vend.objects.for_user(user, REPORTS).order_by()
    sold = vends.filter(created_at__gte=start, created_at__lt=end).exclude(created_by=None)
    chosen = Q(pk__in=sold.values("created_by"))
    if str(query.get("operator", "")).isdigit() and int(query["operator"]) < 2**31:
        pk = int(query["operator"])
        if vends.filter(created_by_id=pk).exists():
            chosen |= Q(pk=pk)
    return get_user_model().objects.filter(chosen).order_by("username")


def _period_asked(query: Any) -> Period:
    """The period of the sales detail's ``date_from`` / ``date_to``: each missing or unreadable
    day is the default period's (the current ten days); a reversed range is the default period."""
    default = ten_day_period(local_today())
    days = []
    for name, fallback in (("date_from", default.start), ("date_to", default.end)):
        try:
            day = date.fromisoformat(str(query.get(name) or ""))
        except ValueError:
            day = fallback
        days.append(day if EARLIEST <= day <= LATEST else fallback)
    return Period(days[0], days[1]) if days[0] <= days[1] else default


class SalesDetailFilter(df.FilterSet):
    """售电明细表: vends in a date range, by site, point, operator, payment method and status."""

    date_from = FromDayFilter(field_name="created_at", label=_("From"), widget=DATE, required=True)
    date_to = ToDayFilter(field_name="created_at", label=_("To"), widget=DATE, required=True)
    site = df.ModelChoiceFilter(field_name="account__site", queryset=report_sites, label=_("Site"))
    point = df.ModelChoiceFilter(field_name="point", queryset=report_points, label=_("Vending point"))
    operator = df.ModelChoiceFilter(field_name="created_by", queryset=report_operators, label=_("Operator"))
    method = df.ChoiceFilter(choices=PaymentMethod.choices, label=_("Payment method"))
    status = df.ChoiceFilter(choices=VendStatus.choices, label=_("Status"))

    class Meta:
        model = Vend
        fields: list[str] = []
        form = PeriodForm


class _NoFilter(df.DateFilter):
    """A date that the report reads from ``form.cleaned_data`` instead of filtering sites by it."""

    def filter(self, qs: Any, value: Any) -> Any:
        return qs


class SitePeriodFilter(df.FilterSet):
    """Site reports over a date range (recovery rate)."""

    date_from = _NoFilter(label=_("From"), widget=DATE, required=True)
    date_to = _NoFilter(label=_("To"), widget=DATE, required=True)
    site = SiteChoiceFilter(queryset=report_sites, label=_("Site"))

    class Meta:
        model = Site
        fields: list[str] = []
        form = PeriodForm


class _MonthFilter(df.CharFilter):
    def filter(self, qs: Any, value: Any) -> Any:
        return qs


class MonthForm(forms.Form):
    def clean_month(self) -> str:
        value: str = self.cleaned_data.get("month") or ""
        try:
            first = parse_month(value)
        except ValueError:
            raise forms.ValidationError(_("Enter a month as YYYY-MM."), code="invalid_month") from None
        _check_day(first)
        return value


class MonthFilter(df.FilterSet):
    """Site reports for one calendar month (allocation)."""

    month = _MonthFilter(
        label=_("Month"),
        widget=forms.TextInput(attrs={"type": "month", "pattern": r"\d{4}-\d{2}", "placeholder": "YYYY-MM"}),
        required=True,
    )
    site = SiteChoiceFilter(queryset=report_sites, label=_("Site"))

    class Meta:
        model = Site
        fields: list[str] = []
        form = MonthForm


class SiteFilter(df.FilterSet):
    """Site reports as of today (arrears)."""

    site = SiteChoiceFilter(queryset=report_sites, label=_("Site"))

    class Meta:
        model = Site
        fields: list[str] = []


class ReversalsFilter(df.FilterSet):
    """Reversals and refunds (冲正 / 退费) by the day they were decided (requested, while they wait),
    site, vending point, kind, status, how the money went back and payment method.

    The queryset is :func:`prepay.vending.reversals.with_settlement` annotated with ``when`` (decided
    at, else requested at): see ``prepay.reports.reversals.scoped_reversals``.
    """

    date_from = FromDayFilter(field_name="when", label=_("From"), widget=DATE, required=True)
    date_to = ToDayFilter(field_name="when", label=_("To"), widget=DATE, required=True)
    site = df.ModelChoiceFilter(field_name="account__site", queryset=report_sites, label=_("Site"))
    point = df.ModelChoiceFilter(field_name="point", queryset=report_points, label=_("Vending point"))
    kind = df.ChoiceFilter(choices=ReversalKind.choices, label=_("Kind"))
    status = df.ChoiceFilter(choices=ApprovalStatus.choices, label=_("Status"))
    how = df.ChoiceFilter(choices=Settlement.choices, label=_("Money back"), method="filter_how")
    method = df.ChoiceFilter(choices=PaymentMethod.choices, label=_("Payment method"))

    class Meta:
        model = Reversal
        fields: list[str] = []
        form = PeriodForm

    def filter_how(self, qs: Any, name: str, value: str) -> Any:
        """Voids have a cash line at a point, finance's refunds one without, agents' their float."""
        if value == Settlement.VOID:
            return qs.filter(pay_book=ledger.CASH, pay_point__isnull=False)
        if value == Settlement.FINANCE:
            return qs.filter(pay_book=ledger.CASH, pay_point__isnull=True)
        return qs.filter(pay_book=ledger.AGENT_FLOAT)
