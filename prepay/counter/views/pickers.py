"""Search-as-you-type for the clerk forms: a unit for 开户, a meter in stock for 配表 / 换表.

Each answers an htmx request from a :class:`prepay.counter.lifecycle_forms.PickerInput` with at most
:data:`LIMIT` matches as buttons that fill the box (``static/js/counter.js``). The queries do not
grow with the number of units or meters: one for the scope, one for the matches (with their
buildings, or their models and last readings).
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from prepay.common.fields import EnergyField
from prepay.counter.access import require_on, visible
from prepay.counter.lifecycle_forms import unit_label
from prepay.customers.choices import Utility
from prepay.customers.models import Account, Customer
from prepay.customers.search import units_for
from prepay.domain.typed import ascii_text
from prepay.meters.choices import MeterKind, MeterStatus
from prepay.meters.models import Meter
from prepay.telemetry.models import MeterReading

LIFECYCLE = "account.lifecycle"
#: the most matches offered
LIMIT = 20


def _typed(request: HttpRequest) -> tuple[str, str]:
    """(the text typed in the box, the box's id): the box sends its value under its own name."""
    field = request.GET.get("field", "q")
    return ascii_text(request.GET.get(field, "")).strip(), request.GET.get("box", "")


def _pk(request: HttpRequest, name: str) -> int:
    """The id the box sends as ``name`` (0, which finds nothing: a 404, when absent or not a number)."""
    value = request.GET.get(name, "")
    return int(value) if value.isascii() and value.isdigit() else 0


@login_required
def units(request: HttpRequest) -> HttpResponse:
    """Units of the customer's site named by the text typed (``1-101``, ``1号楼 101``, ``101``)."""
    customer = visible(request.user, Customer.objects.select_related("site"), _pk(request, "customer"))
    require_on(request.user, LIFECYCLE, customer)
    text, box = _typed(request)
    found = units_for(request.user, text, site=customer.site, limit=LIMIT)
    picks = [{"value": unit_label(u), "label": str(u), "note": "", "fill": ""} for u in found]
    return render(request, "counter/_picks.html", {"picks": picks, "box": box, "typed": text})


@login_required
def meters(request: HttpRequest) -> HttpResponse:
    """Meters in stock of the account's group and utility whose serial contains the text typed;
    each carries its last polled reading, which picking it puts in the reading box (``fill``)."""
    account = visible(request.user, Account.objects.select_related("site"), _pk(request, "account"))
    require_on(request.user, LIFECYCLE, account)
    text, box = _typed(request)
    stock = Meter.objects.for_user(request.user).filter(
        group_id=account.site.group_id, status=MeterStatus.IN_STOCK
    )
    water = account.utility == Utility.WATER
    stock = stock.filter(model__kind=MeterKind.WATER) if water else stock.exclude(model__kind=MeterKind.WATER)
    if text:
        stock = stock.filter(serial__icontains=text)
    newest = MeterReading.objects.filter(meter=OuterRef("pk")).order_by("-read_at").values("register")[:1]
    found = stock.select_related("model").annotate(last_register=Subquery(newest, output_field=EnergyField()))
    fill = request.GET.get("fill", "")
    picks = [
        {
            "value": m.serial,
            "label": m.serial,
            "note": str(m.model),
            "fill": json.dumps({fill: str(m.last_register)}) if fill and m.last_register is not None else "",
        }
        for m in found.order_by("serial")[:LIMIT]
    ]
    return render(request, "counter/_picks.html", {"picks": picks, "box": box, "typed": text})
