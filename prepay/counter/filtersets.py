"""Filters of the account and customer lists (django-filter), scoped to what the user may see."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from prepay.customers.choices import AccountStatus, Utility
from prepay.customers.models import Account, Customer
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
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value)
            | Q(customer__number__icontains=value)
            | Q(customer__name__icontains=value)
            | Q(customer__phone__icontains=value)
            | Q(unit__number__iexact=value)
            | Q(installations__ended_at__isnull=True, installations__meter__serial__icontains=value)
        ).distinct()


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    site = django_filters.ModelChoiceFilter(label=_("site"), queryset=_sites)

    class Meta:
        model = Customer
        fields = ["q", "site"]

    def search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value) | Q(name__icontains=value) | Q(phone__icontains=value)
        )
