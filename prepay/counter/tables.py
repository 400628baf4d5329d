"""Tables (django-tables2) of the counter and clerk screens."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from prepay.customers.models import Account, Customer
from prepay.vending.models import LedgerEntry, Vend


class AccountTable(tables.Table):
    number = tables.LinkColumn("counter:account", args=[tables.A("pk")], verbose_name=_("account number"))
    customer = tables.Column(accessor="customer__name", verbose_name=_("customer"))
    phone = tables.Column(accessor="customer__phone", verbose_name=_("phone"), orderable=False)
    unit = tables.Column(accessor="unit", verbose_name=_("unit"), order_by=("unit__building", "unit__number"))

    class Meta:
        model = Account
        fields = ["number", "customer", "phone", "unit", "utility", "mode", "status", "site"]
        attrs = {"class": "table", "id": "account-table"}
        row_attrs = {"data-testid": lambda record: f"account-row-{record.number}"}
        per_page = 25


class CustomerTable(tables.Table):
    number = tables.Column(verbose_name=_("customer number"))
    open_account = tables.TemplateColumn(
        template_name="counter/_open_account_cell.html", verbose_name="", orderable=False
    )

    class Meta:
        model = Customer
        fields = ["number", "name", "phone", "customer_type", "site"]
        attrs = {"class": "table", "id": "customer-table"}
        per_page = 25


class LedgerTable(tables.Table):
    class Meta:
        model = LedgerEntry
        fields = ["seq", "created_at", "kind", "amount", "balance_after", "energy", "memo", "created_by"]
        attrs = {"class": "table", "id": "ledger-table"}
        order_by = "-seq"
        per_page = 20


class VendTable(tables.Table):
    receipt_no = tables.Column(verbose_name=_("receipt number"))

    class Meta:
        model = Vend
        fields = [
            "created_at",
            "receipt_no",
            "amount",
            "energy",
            "method",
            "delivery",
            "status",
            "created_by",
        ]
        attrs = {"class": "table", "id": "vend-table"}
        orderable = False
