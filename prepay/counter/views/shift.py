"""Shifts at the counter: open with a cash float, close with the money counted (cash-up, 交班扎帐).

The cash-up shows per payment method the sales, the voids (reversals approved while the shift was
open: paid back across the counter) and the money expected; reversals approved after the shift closed
are refunds paid by finance and are only mentioned (prepay/vending/shifts.py ``shift_summary``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prepay.counter.access import may, require_somewhere, visible
from prepay.counter.forms import CloseShiftForm, OpenShiftForm
from prepay.counter.views.base import call_action
from prepay.vending import actions as vending
from prepay.vending.models import PaymentMethod, Shift

SELL = "vend.sell"


@login_required
@require_POST
def open_shift(request: HttpRequest) -> HttpResponse:
    """``do_open_shift`` at the chosen counter, then back to the counter."""
    require_somewhere(request.user, SELL)
    form = OpenShiftForm(request.POST, user=request.user)
    if form.is_valid():
        ok, _shift = call_action(
            form,
            lambda: vending.do_open_shift(
                point=form.cleaned_data["point"],
                actor=request.user,
                opening_float=form.cleaned_data["opening_float"],
            ),
        )
        if ok:
            return HttpResponseRedirect(reverse("counter:sell"))
    context = {"work": "counter/_welcome.html", "shift": None, "shift_form": form}
    return render(request, "counter/sell.html", context, status=400)


def summary_rows(
    summary: dict[str, Any], expected: dict[str, Any] | None = None, declared: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """One row per payment method: label, sales, voids (paid back at the counter), expected (the
    summary's, or ``expected`` as fixed when the shift closed), and declared and difference once counted."""
    expected = summary["expected"] if expected is None else expected
    rows = []
    for value, label in PaymentMethod.choices:
        row: dict[str, Any] = {
            "method": value,
            "label": label,
            "sales": summary["sales"][value],
            "voids": summary["voids"][value],
            "void_count": summary["void_counts"][value],
            "expected": Decimal(str(expected[value])),
        }
        if declared is not None:
            row["declared"] = Decimal(str(declared[value]))
            row["difference"] = row["declared"] - row["expected"]
        rows.append(row)
    return rows


@login_required
def close_shift(request: HttpRequest) -> HttpResponse:
    """The cashier's own open shift: expected money per method; POST the counted money to close it."""
    require_somewhere(request.user, SELL)
    shift = vending.current_shift(request.user)
    if shift is None:
        return HttpResponseRedirect(reverse("counter:sell"))
    status = 200
    if request.method == "POST":
        form = CloseShiftForm(request.POST)
        if form.is_valid():
            ok, closed = call_action(
                form,
                lambda: vending.do_close_shift(
                    shift=shift, actor=request.user, declared=form.declared(), note=form.cleaned_data["note"]
                ),
            )
            if ok:
                return HttpResponseRedirect(reverse("counter:shift", args=[closed.pk]))
        status = 400
    else:
        form = CloseShiftForm()
    summary = vending.shift_summary(shift)
    context = {
        "shift": shift,
        "summary": summary,
        "rows": summary_rows(summary),
        "form": form,
        "title": _("Close shift"),
    }
    return render(request, "counter/shift_close.html", context, status=status)


@login_required
def shift_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A shift's cash-up: expected vs declared per method and the difference.

    The cashier sees their own shifts; finance and admins (``reversal.approve`` or ``reports.view``)
    see every shift of their sites; anyone else gets 404.
    """
    shift = visible(request.user, Shift.objects.select_related("point__site", "cashier"), pk)
    if shift.cashier_id != request.user.pk and not (
        may(request.user, "reports.view", shift) or may(request.user, "reversal.approve", shift)
    ):
        raise Http404
    summary = vending.shift_summary(shift)
    closed = shift.status == "closed"
    rows = summary_rows(summary, shift.expected if closed else None, shift.declared if closed else None)
    return render(request, "counter/shift.html", {"shift": shift, "summary": summary, "rows": rows})
