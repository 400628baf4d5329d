"""Clerk screens (业务员): account and customer lists, 开户 / 配表 / 换表 / 过户 / 销户, meter tokens.

Each screen scopes its object (404 outside the user's sites), checks the capability where the
object lives (403), and calls exactly one action.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_tables2 import RequestConfig

from prepay.counter.access import require_on, require_somewhere, visible
from prepay.counter.filtersets import AccountFilter, CustomerFilter
from prepay.counter.forms import (
    CustomerForm,
    KeyChangeForm,
    ManagementTokenForm,
    RelayCommandForm,
    new_key,
)
from prepay.counter.lifecycle_forms import (
    CounterAssignMeterForm,
    CounterCloseAccountForm,
    CounterOpenAccountForm,
    CounterReplaceMeterForm,
    CounterTransferForm,
)
from prepay.counter.tables import AccountTable, CustomerTable
from prepay.counter.views.base import form_page
from prepay.counter.words import utility_words
from prepay.customers import actions as customer_actions
from prepay.customers.choices import AccountMode, Utility
from prepay.customers.models import Account, Customer
from prepay.meters import actions as meter_actions
from prepay.meters.models import Meter
from prepay.telemetry.actions import do_queue_command
from prepay.tokens import actions as token_actions
from prepay.tokens.models import IssuedToken
from prepay.vending import lifecycle
from prepay.vending.ledger import with_meter_and_balance

LIFECYCLE = "account.lifecycle"


def account_url(account: Any) -> str:
    return reverse("counter:account", args=[account.pk])


@login_required
def accounts(request: HttpRequest) -> HttpResponse:
    """Every account the user may see, searchable and sortable."""
    require_somewhere(request.user, "view")
    qs = with_meter_and_balance(
        Account.objects.for_user(request.user).select_related("customer", "unit__building", "site")
    )
    filterset = AccountFilter(request.GET or None, queryset=qs, request=request)
    table = AccountTable(filterset.qs)
    RequestConfig(request).configure(table)
    return render(request, "counter/accounts.html", {"filter": filterset, "table": table})


@login_required
def customers(request: HttpRequest) -> HttpResponse:
    """Customers, for registering them and opening their accounts (clerks)."""
    require_somewhere(request.user, "customer.change", LIFECYCLE)
    qs = Customer.objects.for_user(request.user).select_related("site", "customer_type")
    filterset = CustomerFilter(request.GET or None, queryset=qs, request=request)
    table = CustomerTable(filterset.qs)
    RequestConfig(request).configure(table)
    return render(request, "counter/customers.html", {"filter": filterset, "table": table})


@login_required
def customer_new(request: HttpRequest) -> HttpResponse:
    """Register a customer (``do_create_customer``), then open the account."""
    require_somewhere(request.user, "customer.change")
    return form_page(
        request,
        form_class=CustomerForm,
        form_kwargs={"user": request.user},
        title=_("Register a customer"),
        run=lambda d: customer_actions.do_create_customer(actor=request.user, **d),
        success=_("Customer registered."),
        done=lambda c: reverse("counter:open_account", args=[c.pk]),
        cancel_url=reverse("counter:customers"),
        testid="customer-new",
    )


@login_required
def open_account(request: HttpRequest, pk: int) -> HttpResponse:
    """开户 for a customer."""
    customer = visible(request.user, Customer.objects.select_related("site"), pk)
    require_on(request.user, LIFECYCLE, customer)
    return form_page(
        request,
        form_class=CounterOpenAccountForm,
        form_kwargs={"obj": customer, "user": request.user},
        title=_("Open account"),
        run=lambda d: customer_actions.do_open_account(
            customer=customer,
            unit=d["unit"],
            utility=d["utility"],
            mode=d["mode"],
            billing=d["billing"],
            tariff=d["tariff"],
            actor=request.user,
        ),
        success=_("Account opened."),
        done=account_url,
        cancel_url=reverse("counter:customers"),
        subject=customer,
        testid="open-account",
    )


def _account_for(request: HttpRequest, pk: int) -> Account:
    account = visible(request.user, Account.objects.select_related("site", "customer", "unit__building"), pk)
    require_on(request.user, LIFECYCLE, account)
    return account


@login_required
def assign_meter(request: HttpRequest, pk: int) -> HttpResponse:
    """配表: a stock meter (by serial) and its opening reading."""
    account = _account_for(request, pk)
    water = account.utility == Utility.WATER
    return form_page(
        request,
        form_class=CounterAssignMeterForm,
        form_kwargs={"obj": account, "user": request.user},
        title=_("Assign water meter") if water else _("Assign meter"),
        run=lambda d: meter_actions.do_assign_meter(
            account=account, meter=d["meter"], opening_reading=d["opening_reading"], actor=request.user
        ),
        success=_("Meter assigned."),
        done=lambda _r: account_url(account),
        cancel_url=account_url(account),
        subject=account,
        testid="assign-meter",
    )


def _replacement_note(remote: bool, water: bool) -> str:
    """What 换表 does with the credit left, in the account's words."""
    if remote and water:
        return _(
            "Remote fee control: the account's money stays on its balance, so no water is loaded onto the "
            "new water meter; enter 0 as the water left unless the old meter held water of its own."
        )
    if remote:
        return _(
            "Remote fee control: the account's money stays on its balance, so nothing is loaded onto the "
            "new meter; enter 0 as the credit left unless the old meter held credit of its own."
        )
    if water:
        return _(
            "The water left on the old water meter is delivered to the new one at once: a token for a "
            "keypad meter, a purchase to write on the IC card, or a remote credit for a networked meter."
        )
    return _(
        "The credit left on the old meter is delivered to the new one at once: a token for a keypad "
        "meter, a purchase to write on the IC card, or a remote credit for a networked meter."
    )


def _after_replacement(account: Account, inst: Any) -> str:
    """Where the clerk lands after 换表: the carried credit's delivery (token, card, remote), else
    the account."""
    delivery = getattr(inst, "credit_delivery", None)
    return reverse("counter:delivery", args=[delivery.pk]) if delivery is not None else account_url(account)


@login_required
def replace_meter(request: HttpRequest, pk: int) -> HttpResponse:
    """换表: closing reading and credit left on the old meter, the new meter and its reading. The
    credit left is delivered to the new meter at once (token and receipt, card, remote credit); a
    remote fee control account keeps its money on the balance and needs none, as the form says."""
    account = _account_for(request, pk)
    remote = account.mode == AccountMode.REMOTE
    water = account.utility == Utility.WATER
    return form_page(
        request,
        form_class=CounterReplaceMeterForm,
        form_kwargs={"obj": account, "user": request.user},
        title=_("Replace water meter") if water else _("Replace meter"),
        note=_replacement_note(remote, water),
        run=lambda d: meter_actions.do_replace_meter(
            account=account,
            new_meter=d["new_meter"],
            old_closing_reading=d["old_closing_reading"],
            remaining_credit=d["remaining_credit"],
            new_opening_reading=d["new_opening_reading"],
            reason=d["reason"],
            old_meter_faulty=d["old_meter_faulty"],
            actor=request.user,
        ),
        success=_("Meter replaced; the account's money stays on its balance.")
        if remote
        else _("Meter replaced."),
        done=lambda inst: _after_replacement(account, inst),
        cancel_url=account_url(account),
        subject=account,
        testid="replace-meter",
    )


@login_required
def transfer(request: HttpRequest, pk: int) -> HttpResponse:
    """过户 to another customer of the same site."""
    account = _account_for(request, pk)
    return form_page(
        request,
        form_class=CounterTransferForm,
        form_kwargs={"obj": account, "user": request.user},
        initial={"idempotency_key": new_key()},
        title=_("Transfer ownership"),
        run=lambda d: lifecycle.do_transfer_account(
            account=account,
            new_customer=d["new_customer"],
            reading=d["reading"],
            refund_balance=d["refund_balance"],
            idempotency_key=d["idempotency_key"] or None,
            actor=request.user,
        ),
        success=_("Ownership transferred."),
        done=lambda _r: account_url(account),
        cancel_url=account_url(account),
        subject=account,
        testid="transfer",
    )


@login_required
def close(request: HttpRequest, pk: int) -> HttpResponse:
    """销户: final reading, credit left on the meter; the balance is refunded."""
    account = _account_for(request, pk)
    return form_page(
        request,
        form_class=CounterCloseAccountForm,
        form_kwargs={"obj": account, "user": request.user},
        initial={"idempotency_key": new_key()},
        title=_("Close account"),
        run=lambda d: lifecycle.do_close_account(
            account=account,
            final_reading=d["final_reading"],
            remaining_credit=d["remaining_credit"],
            idempotency_key=d["idempotency_key"] or None,
            actor=request.user,
        ),
        success=_("Account closed."),
        done=lambda _r: account_url(account),
        cancel_url=account_url(account),
        subject=account,
        testid="close-account",
    )


# --------------------------------------------------------------------------------------------------
# Meter tokens: management and key change (token.management)
# --------------------------------------------------------------------------------------------------


def _meter_for(request: HttpRequest, pk: int) -> Meter:
    meter = visible(request.user, Meter.objects.select_related("model", "site"), pk)
    require_on(request.user, "token.management", meter)
    return meter


def tokens_url(meter: Meter) -> str:
    return reverse("counter:meter_tokens", args=[meter.pk])


@login_required
def meter_tokens(request: HttpRequest, pk: int) -> HttpResponse:
    """The tokens issued to a meter (newest first), with links to issue management / key-change tokens."""
    meter = _meter_for(request, pk)
    issued = IssuedToken.objects.filter(meter=meter).select_related("created_by")[:50]
    return render(request, "counter/meter_tokens.html", {"meter": meter, "issued": issued})


@login_required
def management_token(request: HttpRequest, pk: int) -> HttpResponse:
    """A management token (clear credit, clear tamper, …)."""
    meter = _meter_for(request, pk)
    return form_page(
        request,
        form_class=ManagementTokenForm,
        form_kwargs={},
        title=_("Issue a management token"),
        run=lambda d: token_actions.do_issue_management_token(
            meter=meter, kind=d["kind"], value=d["value"], reason=d["reason"], actor=request.user
        ),
        success=_("Token issued."),
        done=lambda _r: tokens_url(meter),
        cancel_url=tokens_url(meter),
        subject=meter,
        testid="management-token",
    )


@login_required
def key_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Key change: new supply group / tariff index / key revision / type / base date."""
    meter = _meter_for(request, pk)

    def run(d: dict[str, Any]) -> Any:
        params = {k: d[k] for k in KeyChangeForm.PARAMETERS if d.get(k) not in (None, "")}
        return token_actions.do_change_meter_key(
            meter=meter, reason=d["reason"], ken=d["ken"], actor=request.user, **params
        )

    return form_page(
        request,
        form_class=KeyChangeForm,
        form_kwargs={},
        title=_("Change the meter's key"),
        run=run,
        success=_("Key-change tokens issued; enter them on the meter in order."),
        done=lambda _r: tokens_url(meter),
        cancel_url=tokens_url(meter),
        subject=meter,
        testid="key-change",
    )


@login_required
def relay_command(request: HttpRequest, pk: int) -> HttpResponse:
    """Remote trip / close of the account's meter with a reason (``do_queue_command``; the poller runs it)."""
    account = _account_for(request, pk)
    inst = account.installations.filter(ended_at__isnull=True).select_related("meter").first()
    if inst is None:
        raise Http404
    water = account.utility == Utility.WATER
    return form_page(
        request,
        form_class=RelayCommandForm,
        form_kwargs={"water": water},
        initial={"idempotency_key": new_key("relay")},
        title=utility_words(account.utility)["relay_tool"],
        run=lambda d: do_queue_command(
            inst.meter,
            d["kind"],
            actor=request.user,
            reason=d["reason"],
            idempotency_key=d["idempotency_key"],
        ),
        success=_("Command queued; the meter's valve follows when it answers.")
        if water
        else _("Command queued; the meter's relay follows when it answers."),
        done=lambda _r: account_url(account),
        cancel_url=account_url(account),
        subject=account,
        testid="relay-command",
    )
