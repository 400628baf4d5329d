"""The suspicious-case list as a django-tables2 table (sortable, paged)."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from prepay.analytics.models import Case
from prepay.analytics.reasons import describe


class CaseTable(tables.Table):
    account = tables.Column(_("Account"), accessor="account__number", order_by=("account__number",))
    customer = tables.Column(_("Customer"), accessor="account__customer__name")
    unit = tables.Column(_("Unit"), accessor="account__unit__number", orderable=False)
    site = tables.Column(_("Site"), accessor="site__name")
    score = tables.Column(_("Score"), attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    reasons = tables.Column(_("Why"), orderable=False, empty_values=())
    opened_on = tables.DateColumn(format="Y-m-d", verbose_name=_("Flagged since"))
    last_day = tables.DateColumn(format="Y-m-d", verbose_name=_("Last flagged"))
    status = tables.Column(_("Status"))
    outcome = tables.Column(_("Outcome"), default="")

    class Meta:
        model = Case
        fields: list[str] = []
        sequence = (
            "account",
            "customer",
            "unit",
            "site",
            "score",
            "reasons",
            "opened_on",
            "last_day",
            "status",
            "outcome",
        )
        attrs = {"class": "table report-table", "id": "cases"}
        order_by = ("-score",)

    def render_account(self, value: str, record: Case) -> Any:
        return format_html('<a href="{}">{}</a>', reverse("analytics:case", args=[record.pk]), value)

    def render_reasons(self, record: Case) -> str:
        first = [describe(r) for r in record.reasons if r.get("points", 0) > 0][:1]
        more = len(record.reasons) - 1
        return first[0] + (f" (+{more})" if more > 0 else "") if first else ""

    def render_status(self, record: Case) -> str:
        return str(record.get_status_display())

    def render_outcome(self, record: Case) -> str:
        return str(record.get_outcome_display()) if record.outcome else ""
