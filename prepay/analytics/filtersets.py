"""Filters of the suspicious-case list (django-filter), in the reports' manner: a site outside the
user's sites is not a choice (the same "Select a valid choice" as a site that does not exist), bad
numbers and dates are form errors, never server errors."""

from __future__ import annotations

from typing import Any

import django_filters as df
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from prepay.analytics.access import sites
from prepay.analytics.choices import CaseStatus
from prepay.analytics.models import Case
from prepay.analytics.reasons import NAMES
from prepay.reports.filtersets import DATE, PeriodForm

SIGNALS = [(code, label) for code, label in NAMES.items() if code != "line_loss"]


class CaseForm(PeriodForm):
    def clean_min_score(self) -> Any:
        value = self.cleaned_data.get("min_score")
        if value is not None and not 0 <= value <= 100:
            raise forms.ValidationError(_("Enter a score from 0 to 100."), code="range")
        return value


class CaseFilter(df.FilterSet):
    site = df.ModelChoiceFilter(label=_("Site"), queryset=None, field_name="site")
    status = df.ChoiceFilter(label=_("Status"), choices=CaseStatus.choices, empty_label=_("All"))
    min_score = df.NumberFilter(label=_("Score at least"), field_name="score", lookup_expr="gte")
    signal = df.ChoiceFilter(label=_("Signal"), choices=SIGNALS, method="filter_signal")
    date_from = df.DateFilter(label=_("Flagged from"), field_name="last_day", lookup_expr="gte", widget=DATE)
    date_to = df.DateFilter(label=_("Flagged to"), field_name="opened_on", lookup_expr="lte", widget=DATE)
    q = df.CharFilter(label=_("Account, customer or unit"), method="filter_q")

    class Meta:
        model = Case
        fields: list[str] = []
        form = CaseForm

    def __init__(self, *args: Any, request: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, request=request, **kwargs)
        self.filters["site"].queryset = sites(getattr(request, "user", None))

    def filter_signal(self, qs: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        if value == "line_loss_main":
            return qs.filter(Q(signals__contains=",line_loss_main,") | Q(signals__contains=",line_loss,"))
        return qs.filter(signals__contains=f",{value},")

    def filter_q(self, qs: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        value = value.strip()
        if not value:
            return qs
        return qs.filter(
            Q(account__number__icontains=value)
            | Q(account__customer__name__icontains=value)
            | Q(account__unit__number__icontains=value)
        )
