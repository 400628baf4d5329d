"""The structured tariff editor: the settings form and its tables, always bound to form data (the
stored row's, a new tariff's defaults, or what was posted), turned into a :class:`TariffDraft` and
checked by the engine's own parser. A parser refusal is put next to the field or table row it names
(``blocks[1].upto`` → the second block's limit), in the person's language.

Rows are added and removed by submit buttons on the server (``add_row`` / ``remove_row``), so the
editor needs no script.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.forms import formset_factory
from django.http import QueryDict
from django.utils import timezone

from prepay.domain.tariffs import TariffError
from prepay.tariffs.actions import TariffDraft
from prepay.tariffs.forms import (
    BlockForm,
    ChargeForm,
    PeriodForm,
    RowForm,
    SlotForm,
    TariffForm,
    period_choices,
)
from prepay.tariffs.messages import tariff_error_text
from prepay.tariffs.models import Tariff

ROW_FORMS: dict[str, type[RowForm]] = {
    "blocks": BlockForm,
    "periods": PeriodForm,
    "workday": SlotForm,
    "weekend": SlotForm,
    "holiday": SlotForm,
    "charges": ChargeForm,
}
#: the tables each kind reads (fixed charges: every kind)
KIND_TABLES = {
    "flat": ["charges"],
    "tiered": ["blocks", "charges"],
    "tou": ["periods", "workday", "weekend", "holiday", "charges"],
}
DAY_TYPES = ("workday", "weekend", "holiday")
_PATH = re.compile(
    r"^(?P<head>[a-z_]+)(?:\.(?P<sub>[a-z0-9_]+))?(?:\[(?P<row>\d+)\])?(?:\[(?P<col>\d+)\]|\.(?P<key>\w+))?$"
)


def plain(value: Any) -> str:
    """A Decimal (or anything) as plain text without trailing zeros; None as ''."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


# --------------------------------------------------------------------------------------------------
# form data from a stored row (read leniently: a broken definition must still open to be mended)


def _rows(items: Any) -> list[Any]:
    return list(items) if isinstance(items, list | tuple) else []


def _slots(items: Any) -> list[dict[str, str]]:
    return [
        {"start": plain(i[0]), "end": plain(i[1]), "period": plain(i[2])}
        for i in _rows(items)
        if isinstance(i, list | tuple) and len(i) == 3
    ]


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tables(d: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """The editor's table rows for a stored ``definition``."""
    blocks = [b for b in _rows(d.get("blocks")) if isinstance(b, dict)]
    prices = _object(d.get("prices"))
    charges = [c for c in _rows(d.get("fixed_charges")) if isinstance(c, dict)]
    days = _object(d.get("schedules"))
    tables = {
        "blocks": [{k: plain(b.get(k)) for k in ("upto", "price", "label")} for b in blocks],
        "periods": [{"name": plain(n), "price": plain(p)} for n, p in prices.items()],
        "charges": [{k: plain(c.get(k)) for k in ("name", "amount", "per")} for c in charges],
    }
    for day in DAY_TYPES:
        tables[day] = _slots(days.get(day))
    if "schedule" in d:
        tables["workday"] = _slots(d.get("schedule"))
    return tables


def row_data(row: Tariff | None, *, today: Any) -> dict[str, Any]:
    """Form data for ``row`` (None: a new tariff's defaults, with a few blank rows per table)."""
    if row is None:
        blank = {"blocks": 3, "periods": 4, "workday": 4, "weekend": 0, "holiday": 0, "charges": 1}
        main: dict[str, Any] = {
            "kind": "flat",
            "utility": "electricity",
            "cycle": "month",
            "vat_percent": "0",
            "vat_included": "on",
            "effective_from": today.isoformat(),
        }
        tables: dict[str, list[dict[str, str]]] = {k: [{}] * n for k, n in blank.items()}
    else:
        d = _object(row.definition)
        quota = _object(d.get("quota"))
        rounding = _object(d.get("rounding"))
        main = {
            "group": row.group_id,
            "site": row.site_id or "",
            "code": row.code,
            "name": row.name,
            "utility": row.utility,
            "kind": row.kind,
            "cycle": plain(d.get("cycle") or "month"),
            "effective_from": row.effective_from.isoformat(),
            "vat_percent": plain(row.vat_rate * 100),
            "vat_included": "on" if row.vat_included else "",
            "price": plain(d.get("price", row.unit_price)) if row.kind == "flat" else "",
            "purchase_price": plain(d.get("price", row.unit_price)) if row.kind == "tou" else "",
            "min_purchase": plain(d.get("min_purchase")),
            "max_purchase": plain(d.get("max_purchase")),
            "quota_energy": plain(quota.get("energy")),
            "quota_price": plain(quota.get("price")),
            "quota_label": plain(quota.get("label")),
            "rounding_money": _rounding(rounding.get("money")),
            "rounding_energy": _rounding(rounding.get("energy")),
        }
        tables = _tables(d)
    data: dict[str, Any] = {k: v for k, v in main.items() if v not in ("", None)}
    for prefix, rows in tables.items():
        data.update(_management(prefix, len(rows)))
        for i, values in enumerate(rows):
            data.update({f"{prefix}-{i}-{k}": v for k, v in values.items()})
    return data


def _rounding(value: Any) -> str:
    name = str(value or "ROUND_HALF_UP").upper()
    return name if name.startswith("ROUND_") else f"ROUND_{name}"


def _management(prefix: str, total: int) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


# --------------------------------------------------------------------------------------------------
# adding and removing rows (submit buttons, no script)


def _total(data: QueryDict | dict[str, Any], prefix: str) -> int:
    try:
        return max(0, min(int(str(data.get(f"{prefix}-TOTAL_FORMS", "0"))), 200))
    except ValueError:
        return 0


def add_row(data: QueryDict, prefix: str) -> None:
    """Append a blank row to table ``prefix``; a schedule row starts where the previous one ends."""
    if prefix not in ROW_FORMS:
        return
    n = _total(data, prefix)
    data.update(_management(prefix, n + 1))
    if ROW_FORMS[prefix] is SlotForm:
        data[f"{prefix}-{n}-start"] = data.get(f"{prefix}-{n - 1}-end", "") if n else "00:00"


def remove_row(data: QueryDict, target: str) -> None:
    """Drop row ``index`` of table ``prefix`` (``target`` is ``"prefix-index"``); later rows move up."""
    prefix, _sep, index = target.rpartition("-")
    if prefix not in ROW_FORMS or not index.isdigit():
        return
    n, gone = _total(data, prefix), int(index)
    if gone >= n:
        return
    names = list(ROW_FORMS[prefix].base_fields)
    for i in range(gone, n - 1):
        for name in names:
            data[f"{prefix}-{i}-{name}"] = data.get(f"{prefix}-{i + 1}-{name}", "")
    for name in names:
        data.pop(f"{prefix}-{n - 1}-{name}", None)
    data.update(_management(prefix, n - 1))


# --------------------------------------------------------------------------------------------------
# the editor


class TariffEditor:
    """The settings form and every table, bound to ``data``; ``row`` is the version being edited."""

    def __init__(self, data: Any, *, user: Any, row: Tariff | None = None, in_use: bool = False) -> None:
        self.row = row
        initial = row_data(row, today=timezone.localdate()) if row is not None else {}
        self.main = TariffForm(data, user=user, row=row, in_use=in_use, initial=initial)
        names = [
            str(v)
            for k, v in data.items()
            if re.fullmatch(r"periods-\d+-name|(workday|weekend|holiday)-\d+-period", k)
        ]
        choices = period_choices(names)
        self.tables: dict[str, Any] = {}
        for prefix, form in ROW_FORMS.items():
            kwargs = {"periods": choices} if form in (PeriodForm, SlotForm) else {}
            formset = formset_factory(form, extra=0, max_num=200, absolute_max=200)
            self.tables[prefix] = formset(data, prefix=prefix, form_kwargs=kwargs)
        self.seasons = (row.definition or {}).get("seasons") if row is not None else None
        self.draft: TariffDraft | None = None

    @property
    def kind(self) -> str:
        kind = self.main["kind"].value()
        return kind if kind in KIND_TABLES else "flat"

    def disable(self) -> None:
        """Show everything read-only (a user who may look but not change)."""
        for form in [self.main, *(f for t in self.tables.values() for f in t.forms)]:
            for field in form.fields.values():
                field.disabled = True

    # ---- validating and building --------------------------------------------------------------------

    def is_valid(self) -> bool:
        """Every field of the form and the kind's tables is well typed, and the engine parses the
        tariff they make (``self.draft``); else the errors are on the fields and rows."""
        parts = [self.main, *(self.tables[t] for t in KIND_TABLES[self.kind])]
        if not all([p.is_valid() for p in parts]):  # noqa: C419 - validate every part
            return False
        draft = self._build()
        if draft is None:
            return False
        try:
            draft.engine()
        except TariffError as exc:
            self.place(exc)
            return False
        self.draft = draft
        return True

    def rows(self, prefix: str) -> list[RowForm]:
        """The table's rows that carry something, in order (blank rows are skipped)."""
        return [f for f in self.tables[prefix].forms if not f.is_blank()]

    def _build(self) -> TariffDraft | None:
        m = self.main.cleaned_data
        kind = m["kind"]
        definition: dict[str, Any] = {"cycle": m["cycle"]}
        unit_price: Decimal | None
        if kind == "flat":
            unit_price = m.get("price")
            if unit_price is None:
                self.main.add_error("price", tariff_error_text(TariffError("price", "", "required")))
                return None
        elif kind == "tiered":
            definition["blocks"] = [
                {"upto": _text(f, "upto"), "price": _text(f, "price"), **_label(f)}
                for f in self.rows("blocks")
            ]
            first = self.rows("blocks")[:1]
            unit_price = first[0].cleaned_data.get("price") if first else None
        else:
            unit_price = self._build_tou(definition)
            if unit_price is None:
                return None
        self._build_common(definition)
        return TariffDraft(
            group_id=m["group"].pk,
            site_id=m["site"].pk if m.get("site") else None,
            code=m["code"],
            name=m["name"],
            utility=m["utility"],
            kind=kind,
            unit_price=unit_price if unit_price is not None else Decimal(0),
            vat_rate=(m.get("vat_percent") or Decimal(0)) / 100,
            vat_included=bool(m.get("vat_included")),
            definition=definition,
            effective_from=m.get("new_version_from") or m["effective_from"],
        )

    def _build_tou(self, definition: dict[str, Any]) -> Decimal | None:
        prices: dict[str, str | None] = {}
        for form in self.rows("periods"):
            name = form.cleaned_data.get("name")
            if not name:
                form.add_error("name", tariff_error_text(TariffError("", "", "required")))
                return None
            if name in prices:
                form.add_error("name", tariff_error_text(TariffError("", "", "duplicate", name=name)))
                return None
            prices[name] = _text(form, "price")
        definition["prices"] = prices
        days = {
            d: [[_text(f, "start"), _text(f, "end"), _text(f, "period")] for f in self.rows(d)]
            for d in DAY_TYPES
        }
        if days["weekend"] or days["holiday"]:
            definition["schedules"] = {d: rows for d, rows in days.items() if rows or d == "workday"}
        else:
            definition["schedule"] = days["workday"]
        if self.seasons:
            definition["seasons"] = self.seasons
        purchase = self.main.cleaned_data.get("purchase_price")
        if purchase is None and prices.get("flat"):
            purchase = Decimal(str(prices["flat"]))
        if purchase is None:
            self.main.add_error(
                "purchase_price", tariff_error_text(TariffError("", "", "tou_price_required"))
            )
        return purchase

    def _build_common(self, definition: dict[str, Any]) -> None:
        m = self.main.cleaned_data
        charges = [
            {
                "name": f.cleaned_data.get("name") or None,
                "amount": _text(f, "amount"),
                "per": f.cleaned_data.get("per"),
            }
            for f in self.rows("charges")
        ]
        if charges:
            definition["fixed_charges"] = charges
        for key in ("min_purchase", "max_purchase"):
            if m.get(key) is not None:
                definition[key] = plain(m[key])
        if m.get("quota_energy") is not None or m.get("quota_price") is not None or m.get("quota_label"):
            quota = {"energy": _none(m.get("quota_energy")), "price": _none(m.get("quota_price"))}
            definition["quota"] = quota | ({"label": m["quota_label"]} if m.get("quota_label") else {})
        rounding = {"money": m["rounding_money"], "energy": m["rounding_energy"]}
        if rounding != {"money": "ROUND_HALF_UP", "energy": "ROUND_HALF_UP"}:
            definition["rounding"] = rounding

    # ---- putting the engine's refusal in place --------------------------------------------------------

    def place(self, exc: TariffError) -> None:
        """Add ``exc`` (translated) to the field or row its path names; elsewhere above the form."""
        text = tariff_error_text(exc)
        m = _PATH.match(exc.field or "")
        head = m.group("head") if m else ""
        if head == "schedule":
            head = "workday"
        if m is None or head == "seasons":
            self.main.add_error(None, f"{exc.field}: {text}" if exc.field else text)
            return
        if head == "schedules":
            head, sub = (m.group("sub") or "workday"), None
        else:
            sub = m.group("sub")
        target = self._target(head, sub, m.group("row"), m.group("col") or m.group("key"))
        if target is None:
            self.main.add_error(None, f"{exc.field}: {text}")
        elif isinstance(target[0], forms.BaseFormSet):
            target[0].non_form_errors().append(text)
        else:
            form, field = target
            form.add_error(field, text)

    def _target(
        self, head: str, sub: str | None, row: str | None, col: str | None
    ) -> tuple[Any, str | None] | None:
        main_fields = {
            "price": "purchase_price" if self.kind == "tou" else "price",
            "unit": "utility",
            "quota": "quota_energy",
        }
        if head in ("quota", "rounding") and sub:
            return self.main, {"quota": f"quota_{sub}", "rounding": f"rounding_{sub}"}[head]
        if head == "vat_rate":
            return self.main, "vat_percent"
        if head in self.main.fields or head in main_fields:
            return self.main, main_fields.get(head, head)
        table = {"blocks": "blocks", "fixed_charges": "charges", "prices": "periods"}.get(head, head)
        if table not in self.tables:
            return None
        rows = self.rows(table)
        if table == "periods" and sub:
            found = [f for f in rows if f.cleaned_data.get("name") == sub]
            return (found[0], "price") if found else None
        if row is None:
            return self.tables[table], None
        if int(row) >= len(rows):
            return None
        columns = {
            "0": "start",
            "1": "end",
            "2": "period",
            "label": "label",
            "upto": "upto",
            "price": "price",
        }
        columns |= {"name": "name", "amount": "amount", "per": "per"}
        return rows[int(row)], columns.get(col or "", None)

    # ---- for the template -------------------------------------------------------------------------

    def json(self) -> str:
        """The definition as it would be stored (the draft's, else the stored row's), for experts."""
        definition = self.draft.definition if self.draft else (self.row.definition if self.row else {})
        return json.dumps(definition, ensure_ascii=False, indent=2)


def _text(form: forms.Form, name: str) -> str | None:
    value = form.cleaned_data.get(name)
    return None if value in (None, "") else plain(value)


def _none(value: Any) -> str | None:
    return None if value is None else plain(value)


def _label(form: forms.Form) -> dict[str, str]:
    label = form.cleaned_data.get("label")
    return {"label": label} if label else {}
