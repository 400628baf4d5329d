"""Filters of the account and customer lists (django-filter), scoped to what the user may see."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from prepay.customers.choices import AccountStatus, Utility
from prepay.customers.models import Account, Customer
from prepay.customers.search import account_search_q, initials_q
from prepay.domain.typed import ascii_text
from prepay.tenancy.models import Site


def _sites(request: Any) -> QuerySet[Site]:
    return Site.objects.for_user(request.user) if request is not None else Site.objects.none()


class AccountFilter(django_filters.FilterSet):
    """Free text over account number, customer number / name / phone, unit and meter serial."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(label=_("status"), choices=AccountStatus.choices)
    utility = django_filters.ChoiceFilter(label=_("utility"), choices=Utility.choices)
    site = django_filters.ModelChoiceFilter(label=_("site"), queryset=_sites)

    class Meta:
        model = Account
        fields = ["q", "status", "utility", "site"]

    def search(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        """The counter's search (``prepay.customers.search.account_search_q``): numbers, name,
        phone, pinyin initials, the unit as residents say it, the meter serial."""
        if not value.strip():
            return queryset
        user = getattr(self.request, "user", None)
        return queryset.filter(account_search_q(user, value)).distinct()


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    site = django_filters.ModelChoiceFilter(label=_("site"), queryset=_sites)

    class Meta:
        model = Customer
        fields = ["q", "site"]

    def search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        """Customer number, name or phone containing it, or the pinyin initials of the name."""
        value = ascii_text(value).strip()
        if not value:
            return queryset
        found = Q(number__icontains=value) | Q(name__icontains=value) | Q(phone__icontains=value)
        if (initials := initials_q(value)) is not None:
            found |= initials
        return queryset.filter(found)
