"""The clerk screens' lifecycle forms: the back office's forms (prepay/customers/admin.py) with what a
clerk at a counter needs on top.

* **Search-as-you-type pickers** (htmx): the unit of 开户 and the meter in stock of 配表 / 换表 are
  typed, and the matches (at most 20, from ``counter:pick_units`` / ``counter:pick_meters``) are
  offered under the box; a unit is typed as residents say it (``1-101``, ``1号楼 101``) or picked.
  The form never lists every unit, so it renders the same with 2,000 units as with 20.
* **Readings** are prefilled with the meter's last polled reading, and a reading far from it needs
  the "the reading is right" box ticked, which appears with the warning (:mod:`prepay.counter.readings`).
* **Words** follow the account's utility (m³ for water, the valve of a water meter).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prepay.counter import readings
from prepay.customers.admin import (
    AssignMeterForm,
    CloseAccountForm,
    OpenAccountForm,
    ReplaceMeterForm,
    TransferForm,
)
from prepay.customers.choices import Utility
from prepay.customers.models import Unit
from prepay.customers.search import units_for

CONFIRM = "confirm_reading"


class PickerInput(forms.TextInput):
    """A text box that asks ``url`` for matches as one types; the matches show in a list under it."""

    def __init__(self, url: str, params: dict[str, Any], attrs: dict[str, Any] | None = None) -> None:
        self.url, self.params = url, params
        super().__init__(attrs={"autocomplete": "off", **(attrs or {})})

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        attrs = dict(attrs or {})
        box = attrs.get("id") or f"id_{name}"
        attrs.update(
            {
                "hx-get": self.url,
                "hx-trigger": "input changed delay:250ms, focus once",
                "hx-target": f"#{box}-picks",
                "hx-vals": json.dumps({**self.params, "field": name, "box": box}),
                "aria-controls": f"{box}-picks",
                "data-picker": "1",
            }
        )
        html = super().render(name, value, attrs, renderer)
        picks = format_html('<div class="picks" id="{}-picks" aria-live="polite"></div>', box)
        return format_html("{}{}", html, picks)


def unit_label(unit: Unit) -> str:
    """What a picked unit puts in the box: ``<building code> <unit number>`` (read back exactly)."""
    return f"{unit.building.code} {unit.number}"


class CounterOpenAccountForm(OpenAccountForm):
    """开户 with the unit typed or picked (search-as-you-type) instead of a list of every unit."""

    unit = forms.CharField(label=gettext_lazy("unit"), max_length=80)  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        params = {"customer": self.obj.pk}
        self.fields["unit"].widget = PickerInput(reverse("counter:pick_units"), params)
        self.fields["unit"].help_text = _(
            "Type the building and room (1-101, 1号楼 101) and pick from the list."
        )

    def clean_unit(self) -> Unit:
        """The one unit at the customer's site the text names: ``<building code> <number>`` exactly,
        else as residents say it or by the start of its number; none or several is an error."""
        text = self.cleaned_data["unit"].strip()
        site = self.obj.site
        units = Unit.objects.for_user(self.user).filter(building__site=site).select_related("building")
        code, _sep, number = text.rpartition(" ")
        exact = list(units.filter(building__code__iexact=code, number__iexact=number)[:2]) if code else []
        found = exact or units_for(self.user, text, site=site, limit=2)
        if not found:
            raise forms.ValidationError(_("No unit %(u)s at %(s)s.") % {"u": text, "s": site.name})
        if len(found) > 1:
            raise forms.ValidationError(_("Several units match %(u)s; pick one from the list.") % {"u": text})
        return found[0]


class ReadingCheck(forms.Form):
    """Prefill readings with the meter's last polled reading and ask to confirm a far one.

    Subclasses list ``reading_fields``: (field name, the meter it is a reading of: ``"current"`` —
    the account's meter now — or the name of the field holding the new meter). After ``clean`` a
    far reading leaves ``reading_warnings`` and, until the ``confirm_reading`` box (added to the form
    with the warning) is ticked, a form error."""

    reading_fields: tuple[tuple[str, str], ...] = ()
    obj: Any

    def setup_readings(self) -> None:
        """Read the account's meter and its last reading (two queries); prefill from it."""
        self.reading_warnings: list[str] = []
        inst = self.obj.installations.filter(ended_at__isnull=True).select_related("meter__model").first()
        self.current_meter = inst.meter if inst is not None else None
        self.last_current = readings.last_reading(self.current_meter)
        last = self.last_current
        for name, source in self.reading_fields:
            if source == "current" and last is not None:
                self.fields[name].initial = last.register
                self.fields[name].help_text = _("Last polled reading: %(r)s at %(t)s.") % {
                    "r": last.register,
                    "t": timezone.localtime(last.read_at).strftime("%Y-%m-%d %H:%M"),
                }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        warnings = []
        for name, source in self.reading_fields:
            meter = self.current_meter if source == "current" else data.get(source)
            if meter is None or not hasattr(meter, "model"):
                continue
            last = self.last_current if source == "current" else readings.last_reading(meter)
            label = capfirst(str(self.fields[name].label))
            if text := readings.warning(meter, data.get(name), last, label):
                warnings.append(text)
        self.reading_warnings = warnings
        if warnings:
            confirm = forms.BooleanField(
                label=_("The reading is right: I checked it on the meter."), required=False
            )
            self.fields[CONFIRM] = confirm
            # read as the checkbox reads it ("false" is not a tick), not as any value at all
            if not confirm.widget.value_from_datadict(self.data, self.files, self.add_prefix(CONFIRM)):
                for text in warnings:
                    self.add_error(None, text)
        return data


def _unit_help(form: Any) -> None:
    """Say the account's own unit (m³ or kWh) where the back office's help text says "kWh or m³"."""
    field = form.fields.get("remaining_credit")
    if field is None:
        return
    unit = "m³" if form.obj.utility == Utility.WATER else "kWh"
    if "old_closing_reading" in form.fields:
        field.help_text = _("%(u)s, carried to the new meter.") % {"u": unit}
    else:
        field.help_text = _("%(u)s; returned to the account, then the balance is refunded.") % {"u": unit}


def _meter_picker(form: Any, name: str, fill: str) -> None:
    """The meter field ``name`` picks from the stock meters of the account's utility; picking one
    fills the reading field ``fill`` with the meter's last polled reading."""
    params = {"account": form.obj.pk, "fill": f"id_{fill}"}
    form.fields[name].widget = PickerInput(reverse("counter:pick_meters"), params)
    form.fields[name].help_text = _("Type part of the serial number and pick a meter in stock.")


class CounterAssignMeterForm(ReadingCheck, AssignMeterForm):
    """配表: the meter picked from stock; its opening reading checked against its last poll."""

    reading_fields = (("opening_reading", "meter"),)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_readings()
        _meter_picker(self, "meter", "opening_reading")


class CounterReplaceMeterForm(ReadingCheck, ReplaceMeterForm):
    """换表: the old meter's closing reading prefilled, the new meter picked from stock."""

    reading_fields = (("old_closing_reading", "current"), ("new_opening_reading", "new_meter"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_readings()
        _meter_picker(self, "new_meter", "new_opening_reading")
        _unit_help(self)


class CounterTransferForm(ReadingCheck, TransferForm):
    """过户: the hand-over reading prefilled from the last poll."""

    reading_fields = (("reading", "current"),)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_readings()


class CounterCloseAccountForm(ReadingCheck, CloseAccountForm):
    """销户: the final reading prefilled from the last poll."""

    reading_fields = (("final_reading", "current"),)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_readings()
        _unit_help(self)


__all__ = [
    "CONFIRM",
    "CounterAssignMeterForm",
    "CounterCloseAccountForm",
    "CounterOpenAccountForm",
    "CounterReplaceMeterForm",
    "CounterTransferForm",
    "PickerInput",
    "unit_label",
]
