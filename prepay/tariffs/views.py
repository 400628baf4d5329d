"""The tariff editor's screen in the back office (``TariffAdmin`` add and change pages).

One form, several submit buttons, nothing saved unless **Save** is pressed:

* ``_add=<table>`` / ``_remove=<table>-<n>`` add or drop a table row, ``_refresh`` shows the tables
  of the chosen kind — the form comes back as typed, no errors shown;
* ``_preview`` checks everything with the engine's parser and shows what sample bills cost;
* ``_save`` checks the same way and calls one action: ``do_create_tariff`` for a new tariff,
  ``do_change_tariff`` for a version nothing was priced with, ``do_new_tariff_version`` when a date
  is given under "save as a new version from" (required for a version already used).

An action's refusal is shown above the form (status 400) and changes nothing.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from prepay.common.errors import ActionError, PermissionDenied
from prepay.domain.tariffs import SampleBill, TariffError, sample_days, sample_purchases, typical_energies
from prepay.tariffs import actions, engine
from prepay.tariffs.editor import KIND_TABLES, TariffEditor, add_row, plain, remove_row, row_data
from prepay.tariffs.forms import groups_for
from prepay.tariffs.models import Tariff

TEMPLATE = "admin/tariffs/tariff/editor.html"


def editor_view(
    model_admin: Any, request: HttpRequest, row: Tariff | None, *, readonly: bool
) -> HttpResponse:
    """The add page (``row`` None) or a version's change page (see the module docstring)."""
    sales, charges = engine.usage(row) if row is not None else (0, 0)
    in_use = bool(sales or charges)
    status, preview = 200, None
    if request.method == "POST":
        if readonly:
            raise DjangoPermissionDenied
        data = request.POST.copy()
        if "_add" in data:
            add_row(data, str(data.get("_add", "")))
        elif "_remove" in data:
            remove_row(data, str(data.get("_remove", "")))
        show_errors = not ("_add" in data or "_remove" in data or "_refresh" in data)
        editor = TariffEditor(data, user=request.user, row=row, in_use=in_use)
        valid = show_errors and editor.is_valid()
        if valid and "_save" in data:
            try:
                saved = _save(request, editor, row)
            except PermissionDenied as exc:
                raise DjangoPermissionDenied(str(exc)) from None
            except ActionError as exc:
                editor.main.add_error(None, str(exc))
                status = 400
            else:
                messages.success(request, _("Tariff %(t)s saved.") % {"t": saved})
                return HttpResponseRedirect(model_admin.admin_url("change", saved.pk))
        elif valid:
            preview = _preview(editor)
        elif show_errors:
            status = 400
    else:
        initial = row_data(row, today=timezone.localdate())
        groups = list(groups_for(request.user)[:2])
        if row is None and len(groups) == 1:
            initial["group"] = groups[0].pk
        editor = TariffEditor(initial, user=request.user, row=row, in_use=in_use)
        show_errors = row is not None  # a stored version: show what the engine refuses in it
        if row is not None and editor.is_valid():
            preview = _preview(editor)
    if readonly:
        editor.disable()
    context = {
        **_context(model_admin, request, row, editor),
        "show_errors": show_errors,
        "preview": preview,
        "readonly": readonly,
        "has_change_permission": not readonly,
        "in_use": in_use,
        "sales": sales,
        "charges": charges,
    }
    return TemplateResponse(request, TEMPLATE, context, status=status)


def _context(
    model_admin: Any, request: HttpRequest, row: Tariff | None, editor: TariffEditor
) -> dict[str, Any]:
    """The page's frame: admin context, the version list and the JSON shown to experts."""
    stored = row is not None and request.method != "POST"
    return {
        **model_admin.admin_site.each_context(request),
        "title": _("Change tariff") if row else _("Add tariff"),
        "subtitle": str(row) if row else "",
        "opts": model_admin.model._meta,
        "original": row,
        "editor": editor,
        "kind_tables": KIND_TABLES,
        "last_priced": engine.last_priced_on(row) if row is not None else None,
        "versions": _versions(row),
        "stored_json": stored,
        "json": json.dumps(row.definition, ensure_ascii=False, indent=2)
        if row is not None and stored
        else editor.json(),
    }


def _save(request: HttpRequest, editor: TariffEditor, row: Tariff | None) -> Tariff:
    draft = editor.draft
    assert draft is not None
    if row is None:
        return actions.do_create_tariff(draft=draft, actor=request.user)
    if editor.main.cleaned_data.get("new_version_from"):
        return actions.do_new_tariff_version(base=row, draft=draft, actor=request.user)
    return actions.do_change_tariff(row=row, draft=draft, actor=request.user)


def _versions(row: Tariff | None) -> list[dict[str, Any]]:
    """Every version of ``row``'s code, newest first, with the one in force today marked."""
    if row is None:
        return []
    versions = sorted(engine.versions_of(row), key=lambda v: v.effective_from, reverse=True)
    today = timezone.localdate()
    current = next((v.pk for v in versions if v.effective_from <= today), None)
    return [
        {"row": v, "current": v.pk == current, "this": v.pk == row.pk, "future": v.effective_from > today}
        for v in versions
    ]


# --------------------------------------------------------------------------------------------------
# the preview


def _line_label(key: str, label: str) -> str:
    kind, _sep, name = key.partition(":")
    if kind == "tier" and label == f"tier {name}":
        return _("Tier %(n)s") % {"n": name}
    if kind == "period":
        names = {
            "sharp": _("Sharp period"),
            "peak": _("Peak period"),
            "flat": _("Flat period"),
            "valley": _("Valley period"),
            "deep_valley": _("Deep valley period"),
        }
        return str(names.get(name, name))
    if key == "quota":
        return label if label != "quota" else _("Flat-price energy")
    if key == "flat":
        return capfirst(_("energy"))
    if key == "tou":
        return _("Time of use")
    return label or key


def _bill(bill: SampleBill, id_: str) -> dict[str, Any]:
    what = {
        "cycle": "",
        "day:workday": _("A workday"),
        "day:weekend": _("A weekend day"),
        "day:holiday": _("A holiday"),
    }[bill.key]
    limits = {
        "below_minimum": _("below the minimum purchase: a sale would be refused"),
        "above_maximum": _("above the maximum purchase: a sale would be refused"),
    }
    q = bill.quote
    return {
        "id": id_,
        "what": what,
        "day": bill.day,
        "energy": plain(bill.energy),
        "lines": [
            {
                "label": _line_label(line.key, line.label),
                "energy": plain(line.energy),
                "price": plain(line.price),
                "amount": line.amount,
            }
            for line in q.lines
        ],
        "fixed": [{"name": f.name, "amount": f.amount.quantize(Decimal("0.01"))} for f in q.fixed],
        "vat_amount": q.vat_amount,
        "total": q.total,
        "average": bill.average_price,
        "limit": limits.get(bill.limit, ""),
    }


def _preview(editor: TariffEditor) -> dict[str, Any] | None:
    """Sample bills of the tariff as typed: typical cycle purchases; a day per day type (time of use)."""
    draft = editor.draft
    if draft is None:
        return None
    try:
        tariff = draft.engine()
        energies = typical_energies(tariff)
        if (extra := editor.main.cleaned_data.get("preview_energy")) is not None:
            energies = tuple(sorted({*energies, extra}))
        purchases = [_bill(b, f"preview-cycle-{i}") for i, b in enumerate(sample_purchases(tariff, energies))]
        days = [_bill(b, f"preview-day-{i}") for i, b in enumerate(sample_days(tariff, draft.effective_from))]
    except TariffError:  # pragma: no cover - the draft parsed a moment ago
        return None
    return {
        "unit": "m³" if tariff.unit.value == "m3" else tariff.unit.value,
        "cycle": _("a month") if tariff.cycle.value == "month" else _("a year"),
        "purchases": purchases,
        "days": days,
        "vat_rate": plain(tariff.vat_rate * 100),
        "vat_included": tariff.vat_included,
    }
