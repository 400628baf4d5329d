"""The vending counter (售电), keyboard-first.

search (Enter picks a single match) → account card with the sell form (amount, live quote) →
Enter: review → Enter: ``do_vend`` → receipt with the token. Every step is one htmx request that
swaps ``#counter-work``; without htmx the same views render the whole page.

The sell form carries an idempotency key generated when the card is rendered; review and confirm
pass it on, so a double submit (or a retry after a lost answer) returns the first vend.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prepay.common.actions import Visible
from prepay.common.amounts import parse_amount
from prepay.common.errors import ActionError, PermissionDenied
from prepay.common.fields import as_stored
from prepay.counter.access import require_on, require_somewhere, visible
from prepay.counter.followup import active_protection
from prepay.counter.forms import OpenShiftForm, SellForm, new_key
from prepay.counter.views.panels import card_panel, print_context, receipt_links
from prepay.customers.choices import AccountMode
from prepay.customers.models import Account
from prepay.domain.words import chinese_uppercase, english_words
from prepay.meters.choices import TokenSystem
from prepay.telemetry.models import MeterLink
from prepay.vending import actions as vending
from prepay.vending import ledger
from prepay.vending.models import Delivery, PaymentMethod, Receipt, Vend
from prepay.vending.receipts import breakdown_rows

SELL = "vend.sell"


def page(request: HttpRequest, work: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """The fragment ``work`` for htmx; otherwise the whole counter page with it in ``#counter-work``."""
    context = {"bridge_url": settings.PREPAY_CARDBRIDGE_URL, **context}
    if getattr(request, "htmx", False):
        return render(request, work, context, status=status)
    shift = vending.current_shift(request.user)
    full = {"work": work, "shift": shift, **context}
    if shift is None:
        full["shift_form"] = OpenShiftForm(user=request.user)
    return render(request, "counter/sell.html", full, status=status)


def quote_context(q: Any) -> dict[str, Any]:
    """A VendQuote for the templates, with its delivery's label and its tariff lines in words
    (``第1阶梯``, not ``tier 1``), ¥ and the unit beside each figure."""
    if q is None:
        return {"quote": None, "delivery_label": "", "lines": []}
    lines = breakdown_rows(q.breakdown, q.unit)["lines"] if q.breakdown else []
    return {"quote": q, "delivery_label": Delivery(q.delivery).label, "lines": lines}


#: what the counter's screens show with an account
_ACCOUNT_RELATED = ("site__group", "customer", "unit__building")


def _accounts() -> Any:
    return Account.objects.select_related(*_ACCOUNT_RELATED)


def card_context(request: HttpRequest, account: Account, form: SellForm | None = None) -> dict[str, Any]:
    """The account card: balance, arrears, meter and relay (valve), last purchases, and the sell
    form. A token meter's card says the credit is in the meter and shows the last purchase's token."""
    meter = vending.active_meter(account)
    balance = ledger.balance_of(account)
    if form is None:
        form = SellForm(initial={"account": account.pk, "idempotency_key": new_key("vend"), "mode": "money"})
    last_vends = list(Vend.objects.filter(account=account).prefetch_related("tokens")[:5])
    token_meter = (
        account.mode == AccountMode.LOCAL
        and meter is not None
        and meter.model.token_system == TokenSystem.STS
        and meter.model.has_keypad
    )
    last_token = next(
        ({"vend": v, "tokens": list(v.tokens.all())} for v in last_vends if v.tokens.all()), None
    )
    return {
        "account": account,
        "balance": balance,
        "arrears": -balance if balance < 0 else None,
        "meter": meter,
        "link": MeterLink.objects.filter(meter=meter).first() if meter else None,
        "last_vends": last_vends,
        "token_meter": token_meter,
        "last_token": last_token if token_meter else None,
        "protection": active_protection(account),
        "form": form,
    }


@login_required
def counter(request: HttpRequest) -> HttpResponse:
    """The counter: the open-shift form without a shift; else the search box (``?account=`` preloads a card)."""
    require_somewhere(request.user, SELL)
    context: dict[str, Any] = {}
    work = "counter/_welcome.html"
    if pk := request.GET.get("account", "").strip():
        account = visible(request.user, _accounts(), pk if pk.isdigit() else 0)
        require_on(request.user, SELL, account)
        context, work = card_context(request, account), "counter/_card.html"
    return page(request, work, context)


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """Matches for ``q`` (``find_accounts``); with ``pick=1`` (Enter) a single match opens its card,
    unless it matched only by part of a meter serial or account number (then it is listed: the typed
    text names no account whole, and a sale must not go to a meter half typed)."""
    require_somewhere(request.user, SELL)
    q = request.GET.get("q", "")
    found = vending.find_accounts(request.user, q)
    partial = len(found) == 1 and getattr(found[0], "partial", False)
    if request.GET.get("pick") and len(found) == 1 and not partial:
        account = found[0]
        require_on(request.user, SELL, account)
        response = page(request, "counter/_card.html", card_context(request, account))
        response["HX-Retarget"] = "#counter-work"  # the search form targets the results list
        return response
    context = {"q": q, "found": found, "picked": bool(request.GET.get("pick")), "partial": partial}
    return page(request, "counter/_results.html", context)


@login_required
def card(request: HttpRequest, pk: int) -> HttpResponse:
    account = visible(request.user, _accounts(), pk)
    require_on(request.user, SELL, account)
    return page(request, "counter/_card.html", card_context(request, account))


def _parse(request: HttpRequest) -> tuple[SellForm, Account | None]:
    form = SellForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        return form, None
    account = visible(request.user, _accounts(), form.cleaned_data["account"])
    require_on(request.user, SELL, account)
    return form, account


@login_required
def quote(request: HttpRequest) -> HttpResponse:
    """The live price breakdown under the amount (``quote_vend``); errors show in its place."""
    require_somewhere(request.user, SELL)
    form, account = _parse(request)
    q = None
    if account is not None:
        try:
            q = vending.quote_vend(account=account, actor=request.user, **form.purchase())
        except ActionError as exc:
            _refuse(form, exc)
    return render(request, "counter/_quote.html", {"form": form, **quote_context(q)})


def _card_again(request: HttpRequest, form: SellForm) -> HttpResponse:
    """The card with the form's errors (400); a form without an account is a bad request."""
    pk = form.data.get("account", "")
    if not str(pk).isdigit():
        return HttpResponse(status=400)
    account = visible(request.user, _accounts(), pk)
    require_on(request.user, SELL, account)
    return page(request, "counter/_card.html", card_context(request, account, form), status=400)


def _open_shift(request: HttpRequest) -> Any:
    """The cashier's open shift, else an ActionError (a counter sells only within a shift)."""
    shift = vending.current_shift(request.user)
    if shift is None:
        raise ActionError("no_open_shift", _("Open a shift before selling."))
    return shift


#: refusals about the amount typed: shown next to the amount box rather than above the form
AMOUNT_CODES = frozenset(
    {
        "invalid_amount",
        "amount_too_large",
        "below_minimum",
        "above_maximum",
        "too_small_for_any_energy",
        "all_to_arrears",
        "fixed_charges_not_covered",
        "energy_not_for_balance",
    }
)


def _refuse(form: SellForm, exc: ActionError) -> None:
    """Put an action's refusal on the form: by the amount when it is about the amount."""
    if isinstance(exc, PermissionDenied):
        raise DjangoPermissionDenied(str(exc))
    form.add_error("value" if exc.code in AMOUNT_CODES else None, str(exc))


#: refusals of the confirm step that go back to the review (the amount again, the cash tendered)
TENDER_CODES = frozenset({"tendered_short", "tendered_not_cash", "invalid_tendered"})
REVIEW_CODES = frozenset({"confirmation_required"}) | TENDER_CODES


def _review(
    request: HttpRequest,
    form: SellForm,
    account: Account,
    q: Any,
    *,
    error: str = "",
    tendered_error: str = "",
    status: int = 200,
) -> HttpResponse:
    """The review of a priced sale; above the site's threshold it asks for the amount once more,
    repeating it in words (大写金额); a cash sale asks what the customer handed over (收款) and shows
    the change (找零)."""
    large = q.amount > account.site.confirm_sale_above
    method = form.cleaned_data["method"]
    return page(
        request,
        "counter/_review.html",
        {
            "account": account,
            "form": form,
            "method_label": PaymentMethod(method).label,
            "cash": method == PaymentMethod.CASH,
            "tendered": request.POST.get("tendered", "") if request.method == "POST" else "",
            "tendered_error": tendered_error,
            "large": large,
            "words_zh": chinese_uppercase(q.amount) if large else "",
            "words_en": english_words(q.amount) if large else "",
            "confirm_error": error,
            **quote_context(q),
        },
        status=status,
    )


@login_required
@require_POST
def review(request: HttpRequest) -> HttpResponse:
    """Enter on the amount: check and price the sale, show it for confirmation (nothing is sold yet)."""
    require_somewhere(request.user, SELL)
    form, account = _parse(request)
    if account is None:
        return _card_again(request, form)
    try:
        _open_shift(request)
        q = vending.quote_vend(account=account, actor=request.user, **form.purchase())
    except ActionError as exc:
        _refuse(form, exc)
        return _card_again(request, form)
    return _review(request, form, account, q)


@login_required
def change(request: HttpRequest) -> HttpResponse:
    """The change (找零) for the cash typed in the review's tendered box: ``?amount=&tendered=``."""
    require_somewhere(request.user, SELL)
    amount, tendered = request.GET.get("amount", ""), request.GET.get("tendered", "")
    context: dict[str, Any] = {"change": None, "error": ""}
    try:
        due = parse_amount(amount, _("The amount"), places=2)
        cash = vending.parse_tendered(tendered, PaymentMethod.CASH)
        if cash is not None:
            vending.check_tendered(due, cash)
            context["change"] = cash - due
    except ActionError as exc:
        context["error"] = str(exc)
    return render(request, "counter/_change.html", context)


@login_required
@require_POST
def sell(request: HttpRequest) -> HttpResponse:
    """Confirm: ``do_vend`` at the cashier's open shift; the receipt replaces the review. A large
    sale whose amount was not typed again (or typed differently) goes back to the review."""
    require_somewhere(request.user, SELL)
    form = SellForm(request.POST)
    if not form.is_valid():
        return _card_again(request, form)
    # read once, under the lock, by do_vend: not_found and forbidden answer 404 and 403 (_card_again)
    accounts = Visible(Account, request.user, form.cleaned_data["account"], related=_ACCOUNT_RELATED)
    try:
        shift = _open_shift(request)
        vend = vending.do_vend(
            account=accounts,
            actor=request.user,
            point=shift.point,
            shift=shift,
            idempotency_key=form.cleaned_data["idempotency_key"],
            method=form.cleaned_data["method"],
            reference=form.cleaned_data["reference"],
            confirm_large=True,
            confirmed_amount=request.POST.get("confirm_amount", ""),
            tariff_version=request.POST.get("tariff_version") or None,  # the review's quote
            tendered=request.POST.get("tendered", "") if form.cleaned_data["method"] == "cash" else None,
            **form.purchase(),
        )
    except ActionError as exc:
        if exc.code in REVIEW_CODES:
            account = visible(request.user, _accounts(), form.cleaned_data["account"])
            q = vending.quote_vend(account=account, actor=request.user, **form.purchase())
            kind = "tendered_error" if exc.code in TENDER_CODES else "error"
            return _review(request, form, account, q, status=400, **{kind: str(exc)})
        _refuse(form, exc)
        return _card_again(request, form)
    response = page(request, "counter/_receipt.html", receipt_context(request, vend))
    response["HX-Push-Url"] = reverse("counter:vend", args=[vend.pk])
    return response


def receipt_context(request: HttpRequest, vend: Vend) -> dict[str, Any]:
    """The receipt screen: token(s) or the card to write, the print panel (thermal printer, which
    copy is next), re-print / re-issue / reversal buttons."""
    fresh = vend.issued_receipt is not None  # the sale of this request: answered from what it wrote
    if fresh:
        receipt = as_stored(vend.issued_receipt)
        tokens = [as_stored(t) for t in vend.issued_tokens or []]
        balance = vend.balance_after
    else:
        receipt = Receipt.objects.filter(vend=vend).select_related("point").first()
        tokens = list(vend.tokens.order_by("pk"))
        balance = ledger.balance_of(vend.account)
    card = getattr(vend, "card", None) if vend.delivery == Delivery.CARD else None
    if card is not None:
        card = as_stored(card)  # written by this sale, it reads back as stored
    return {
        "vend": as_stored(vend) if fresh else vend,
        "account": vend.account,
        "tokens": tokens,
        "card": card,
        "cardwrite": card_panel(card),
        "receipt": receipt,
        "links": receipt_links(receipt),
        "printing": print_context(receipt, fresh=fresh),
        "balance": balance,
        "breakdown": vend.breakdown or {},
    }


def _vend_for(request: HttpRequest, pk: int) -> Vend:
    return visible(
        request.user, Vend.objects.select_related("account__site", "account__customer", "point"), pk
    )


@login_required
def vend_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A sale's receipt screen: token(s), print, re-print, lost-token re-issue, reversal request."""
    vend = _vend_for(request, pk)
    require_somewhere(request.user, SELL, "account.lifecycle", "reversal.request")
    return page(request, "counter/_receipt.html", receipt_context(request, vend))


@login_required
@require_POST
def reprint(request: HttpRequest, pk: int) -> HttpResponse:
    """Count a re-print (``do_reprint_receipt``), then open the print view."""
    vend = _vend_for(request, pk)
    receipt = Receipt.objects.filter(vend=vend).first()
    back = reverse("counter:vend", args=[vend.pk])
    if receipt is None:
        return HttpResponseRedirect(back)
    try:
        vending.do_reprint_receipt(receipt=receipt, actor=request.user)
    except ActionError as exc:
        return _refusal(request, exc, back)
    return HttpResponseRedirect(receipt_links(receipt).get("print", back))


@login_required
@require_POST
def reissue(request: HttpRequest, pk: int) -> HttpResponse:
    """Lost token: show the same token(s) again (``do_reissue_token``: same TIDs, never new ones)."""
    vend = _vend_for(request, pk)
    back = reverse("counter:vend", args=[vend.pk])
    try:
        vending.do_reissue_token(vend=vend, actor=request.user)
    except ActionError as exc:
        return _refusal(request, exc, back)
    messages.success(request, _("The same token was issued again; nothing new was generated."))
    return HttpResponseRedirect(back)


def _refusal(request: HttpRequest, exc: ActionError, back: str) -> HttpResponse:
    """A refused follow-up action: 403 for a permission, else the message on the receipt screen."""
    if isinstance(exc, PermissionDenied):
        raise DjangoPermissionDenied(str(exc))
    messages.error(request, str(exc))
    return HttpResponseRedirect(back)
