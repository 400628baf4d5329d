"""The tariff editor's forms: the tariff's settings, and one row form per table (tier blocks, period
prices, day-schedule slots, fixed charges). Every number is a :class:`PlainDecimalField`; the rules
that span fields or rows are the engine parser's (prepay.tariffs.editor), so they are never written
twice. Values are optional here and required by the parser, which names the row that lacks one.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from prepay.common.forms import PlainDecimalField
from prepay.customers.choices import Utility
from prepay.domain.tariffs.schema import PRICE_PLACES
from prepay.domain.typed import ascii_text
from prepay.tariffs.models import TariffKind
from prepay.tenancy.models import PropertyGroup, Site
from prepay.tenancy.scoping import can, reach

CAPABILITY = "masterdata.change"

#: period names the editor offers (the engine accepts any lower-case name; a stored one is kept)
STANDARD_PERIODS: list[tuple[str, Any]] = [
    ("sharp", _("Sharp period")),
    ("peak", _("Peak period")),
    ("flat", _("Flat period")),
    ("valley", _("Valley period")),
    ("deep_valley", _("Deep valley period")),
]
CYCLES = [("month", _("Monthly")), ("year", _("Yearly"))]
PER = [("cycle", _("once a cycle")), ("purchase", _("every purchase"))]
ROUNDING = [
    (decimal.ROUND_HALF_UP, _("half up (default)")),
    (decimal.ROUND_HALF_EVEN, _("half even")),
    (decimal.ROUND_DOWN, _("down (towards zero)")),
    (decimal.ROUND_UP, _("up (away from zero)")),
    (decimal.ROUND_FLOOR, _("floor (towards minus infinity)")),
    (decimal.ROUND_CEILING, _("ceiling (towards plus infinity)")),
    (decimal.ROUND_HALF_DOWN, _("half down")),
]
_H_MM = re.compile(r"^([0-9]):([0-9]{2})$")


def period_choices(names: list[str]) -> list[tuple[str, Any]]:
    """The standard periods and any other ``names`` (stored or typed), for a select."""
    known = dict(STANDARD_PERIODS)
    extra = [(n, n) for n in dict.fromkeys(names) if n and n not in known]
    return [("", "—"), *STANDARD_PERIODS, *extra]


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _price(label: Any, **kw: Any) -> PlainDecimalField:
    return PlainDecimalField(label=label, decimal_places=PRICE_PLACES, required=False, **kw)


def groups_for(user: Any) -> Any:
    """The groups ``user`` may create tariffs in: a site's admin chooses their group too (and then
    their site; ``TariffForm.clean`` checks the pair)."""
    r = reach(user, CAPABILITY)
    if r.all:
        return PropertyGroup.objects.all()
    return PropertyGroup.objects.filter(pk__in=r.group_ids | r.site_group_ids)


class TariffForm(forms.Form):
    """The tariff's own settings. ``group`` / ``site`` / ``code`` are chosen when a tariff is created
    and shown read-only on its versions (``row`` given); ``new_version_from`` only exists there."""

    group = forms.ModelChoiceField(queryset=PropertyGroup.objects.none(), label=_("group"))
    site = forms.ModelChoiceField(
        queryset=Site.objects.none(),
        required=False,
        label=_("site"),
        empty_label=_("every site of the group"),
    )
    code = forms.SlugField(max_length=32, label=_("code"))
    name = forms.CharField(max_length=200, label=_("name"))
    utility = forms.ChoiceField(choices=Utility.choices, label=_("utility"))
    kind = forms.ChoiceField(choices=TariffKind.choices, label=_("kind"))
    cycle = forms.ChoiceField(
        choices=CYCLES,
        label=_("cycle"),
        help_text=_("Tiers, the flat-price quota and cycle charges restart."),
    )
    effective_from = forms.DateField(label=_("effective from"), widget=_date_widget())
    vat_percent = PlainDecimalField(
        label=_("VAT (%)"),
        decimal_places=2,
        required=False,
        help_text=_("13 for 13 percent; empty or 0: none."),
    )
    vat_included = forms.BooleanField(label=_("VAT included in prices"), required=False)
    # the flat and the purchase price are stored in the unit price column: 4 places
    price = PlainDecimalField(label=_("price per unit"), decimal_places=4, required=False)
    purchase_price = PlainDecimalField(
        label=_("prepaid purchase price"),
        decimal_places=4,
        required=False,
        help_text=_("What energy bought ahead of use is sold at. Empty: the flat period's price."),
    )
    min_purchase = PlainDecimalField(label=_("minimum purchase"), decimal_places=2, required=False)
    max_purchase = PlainDecimalField(label=_("maximum purchase"), decimal_places=2, required=False)
    quota_energy = PlainDecimalField(
        label=_("flat-price quota per cycle"),
        decimal_places=3,
        required=False,
        help_text=_("Energy sold first, at its own price, outside the tiers (平价电量). Empty: none."),
    )
    quota_price = _price(_("quota price"), help_text=_("0 makes a free allowance."))
    quota_label = forms.CharField(label=_("quota label"), max_length=64, required=False)
    rounding_money = forms.ChoiceField(choices=ROUNDING, label=_("money rounding"))
    rounding_energy = forms.ChoiceField(choices=ROUNDING, label=_("energy rounding"))
    preview_energy = PlainDecimalField(
        label=_("also preview"),
        decimal_places=3,
        required=False,
        help_text=_("Energy in a cycle to price in the sample bills too; it is not stored."),
    )
    new_version_from = forms.DateField(
        label=_("save as a new version from"),
        required=False,
        widget=_date_widget(),
        help_text=_(
            "The version shown stays as it is for receipts and re-billing; the new one applies from this day."
        ),
    )

    def __init__(self, *args: Any, user: Any, row: Any = None, in_use: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.row = row
        groups = groups_for(user)
        sites = Site.objects.for_user(user, CAPABILITY).select_related("group")
        if row is not None:  # a version keeps its code's group, site and code
            groups = PropertyGroup.objects.filter(pk=row.group_id)
            sites = Site.objects.filter(pk=row.site_id)
            for name in ("group", "site", "code"):
                self.fields[name].disabled = True
            self.fields["effective_from"].disabled = in_use
            self.fields["new_version_from"].required = in_use
            self.fields["new_version_from"].error_messages["required"] = _(
                "This version has priced sales or charges and is kept as it is: choose the day the new "
                "version takes effect."
            )
        else:
            del self.fields["new_version_from"]
        self.fields["group"].queryset = groups  # type: ignore[attr-defined]
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]

    def clean_preview_energy(self) -> Decimal | None:
        value: Decimal | None = self.cleaned_data.get("preview_energy")
        if value is not None and value <= 0:
            raise forms.ValidationError(_("Must be more than %(minimum)s.") % {"minimum": 0})
        return value

    def clean_quota_label(self) -> str:
        return str(self.cleaned_data.get("quota_label") or "").strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        group, site = data.get("group"), data.get("site")
        if self.row is None and group is not None:
            if site is not None and site.group_id != group.pk:
                self.add_error("site", _("The site is not in the chosen group."))
            elif not can(self.user, CAPABILITY, group_id=group.pk, site_id=site.pk if site else None):
                self.add_error(None, _("You are not allowed to save this record there."))
        return data


class RowForm(forms.Form):
    """A table row: ``is_blank`` rows (nothing typed) are skipped."""

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        return all(v in (None, "") for v in data.values())


class BlockForm(RowForm):
    upto = PlainDecimalField(label=_("up to"), decimal_places=3, required=False)
    price = _price(_("price"))
    label = forms.CharField(label=_("label"), max_length=64, required=False)

    def clean_label(self) -> str:
        return str(self.cleaned_data.get("label") or "").strip()


class PeriodForm(RowForm):
    name = forms.ChoiceField(label=_("time-of-use period"), required=False)
    price = _price(_("price"))

    def __init__(self, *args: Any, periods: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].choices = periods  # type: ignore[attr-defined]


class SlotForm(RowForm):
    """One row of a day schedule: from, to, period (``24:00`` may end a day; a row may wrap midnight)."""

    start = forms.CharField(label=_("from"), max_length=5, required=False)
    end = forms.CharField(label=_("to"), max_length=5, required=False)
    period = forms.ChoiceField(label=_("time-of-use period"), required=False)

    def __init__(self, *args: Any, periods: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = periods  # type: ignore[attr-defined]
        for name in ("start", "end"):
            self.fields[name].widget.attrs.update({"placeholder": "HH:MM", "inputmode": "numeric", "size": 6})

    @staticmethod
    def _time(value: Any) -> str:
        text = ascii_text(str(value or "")).strip().replace("：", ":")
        m = _H_MM.match(text)
        return f"0{m.group(1)}:{m.group(2)}" if m else text

    def clean_start(self) -> str:
        return self._time(self.cleaned_data.get("start"))

    def clean_end(self) -> str:
        return self._time(self.cleaned_data.get("end"))


class ChargeForm(RowForm):
    name = forms.CharField(label=_("name"), max_length=64, required=False)
    amount = PlainDecimalField(label=_("amount"), decimal_places=2, required=False)
    per = forms.ChoiceField(label=_("charged"), choices=PER, required=False)

    def clean_name(self) -> str:
        return str(self.cleaned_data.get("name") or "").strip()

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        return not data.get("name") and data.get("amount") is None
