"""Tables (django-tables2) of the counter and clerk screens."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from prepay.customers.models import Account, Customer
from prepay.vending.models import LedgerEntry, Vend
from prepay.web.templatetags.prepay_format import qty, when, yuan

#: columns a phone does without (``.wide-only`` is hidden on narrow screens: counter.css)
WIDE_ONLY = {"th": {"class": "wide-only"}, "td": {"class": "wide-only"}}


class AccountTable(tables.Table):
    """Accounts with their meter and balance: the queryset is annotated by
    ``prepay.vending.ledger.with_meter_and_balance`` (no query per row)."""

    number = tables.LinkColumn("counter:account", args=[tables.A("pk")], verbose_name=_("account number"))
    customer = tables.LinkColumn(
        "counter:customer",
        args=[tables.A("customer_id")],
        accessor="customer__name",
        verbose_name=_("customer"),
    )
    phone = tables.Column(
        accessor="customer__phone", verbose_name=_("phone"), orderable=False, attrs=WIDE_ONLY
    )
    unit = tables.Column(accessor="unit", verbose_name=_("unit"), order_by=("unit__building", "unit__number"))
    mode = tables.Column(verbose_name=_("fee control"), attrs=WIDE_ONLY)
    site = tables.Column(verbose_name=_("site"), attrs=WIDE_ONLY)
    meter_serial = tables.Column(verbose_name=_("meter"), default="—")
    balance = tables.Column(verbose_name=_("balance"), default="¥0.00", attrs={"td": {"class": "num"}})

    class Meta:
        model = Account
        fields = [
            "number",
            "customer",
            "phone",
            "unit",
            "utility",
            "meter_serial",
            "balance",
            "mode",
            "status",
            "site",
        ]
        attrs = {"class": "table", "id": "account-table"}
        row_attrs = {"data-testid": lambda record: f"account-row-{record.number}"}
        per_page = 25

    def render_balance(self, value: Any) -> str:
        return yuan(value, "0")


class CustomerTable(tables.Table):
    number = tables.LinkColumn("counter:customer", args=[tables.A("pk")], verbose_name=_("customer number"))
    open_account = tables.TemplateColumn(
        template_name="counter/_open_account_cell.html", verbose_name="", orderable=False
    )

    class Meta:
        model = Customer
        fields = ["number", "name", "phone", "customer_type", "site"]
        attrs = {"class": "table", "id": "customer-table"}
        per_page = 25


class LedgerTable(tables.Table):
    """An account's ledger: times as ``2026-12-04 15:30``, ¥ beside money, the unit beside energy
    (``utility``: the account's, for kWh or m³)."""

    created_at = tables.Column(verbose_name=_("time"))
    amount = tables.Column(verbose_name=_("amount"), attrs={"td": {"class": "num"}})
    balance_after = tables.Column(verbose_name=_("balance after"), attrs={"td": {"class": "num"}})
    energy = tables.Column(verbose_name=_("energy"), attrs={"td": {"class": "num"}})

    def __init__(self, *args: Any, utility: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.utility = utility
        if utility == "water":
            self.columns["energy"].column.verbose_name = _("water volume")

    def render_created_at(self, value: Any) -> str:
        return when(value)

    def render_amount(self, value: Any) -> str:
        return yuan(value)

    def render_balance_after(self, value: Any) -> str:
        return yuan(value)

    def render_energy(self, value: Any) -> str:
        return qty(value, self.utility)

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
