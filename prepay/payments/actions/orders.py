"""Online orders: create, confirm by notification, sell, refund; each write audited in its transaction.

The life of an order (docs/payments.md):

1. :func:`do_create_order` — the portal asks for an order; the purchase is priced first
   (``quote_vend``: a closed account, a sale limit or a tariff refusal stops it before anybody pays);
2. :func:`start_checkout` — the adapter places it with the provider (network, outside any
   transaction) and the customer pays by QR code or on the provider's page;
3. :func:`handle_notification` → :func:`do_confirm_payment` — the provider's signed notification;
   only a verified, paid, amount-matching one sells, through ``do_vend`` with the idempotency key
   ``pay:<order>``, under the order's row lock, so a notification repeated, replayed or arriving
   twice at once sells once. A paid order the sale refuses waits in ``attention``;
4. :func:`do_sell_order` / :func:`do_refund_order` — finance sells an ``attention`` order later, or
   gives the money back through the provider.

Lock order: payment order → account → meter → vending point (``do_vend``'s own order after ours).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event
from prepay.common.actions import locked
from prepay.common.amounts import parse_amount
from prepay.common.errors import ActionError
from prepay.customers.models import Account
from prepay.payments import conf
from prepay.payments.adapters import adapter_for
from prepay.payments.adapters.base import Notice, NotificationRefused, Reply, json_reply
from prepay.payments.choices import OrderStatus, Outcome, ProviderKind
from prepay.payments.models import PaymentNotification, PaymentOrder, PaymentProvider
from prepay.tenancy.scoping import require
from prepay.vending.actions import do_vend, quote_vend
from prepay.vending.models import PaymentMethod, Vend

log = logging.getLogger(__name__)


def sale_key(order: PaymentOrder) -> str:
    """The idempotency key of an order's sale: one order, one sale, whoever confirms it."""
    return f"pay:{order.number}"


def new_order_number() -> str:
    """``P`` + Beijing date and time + 8 random hex digits: 23 characters, unique in practice (the
    column is unique anyway), within WeChat Pay's and Alipay's 6–32 [A-Za-z0-9] rule."""
    return f"P{timezone.localtime():%Y%m%d%H%M%S}{secrets.token_hex(4).upper()}"


def providers_for(account: Account) -> list[PaymentProvider]:
    """Active providers that sell to ``account`` (its group, all sites or its site); simulated ones
    only where the simulator is switched on."""
    rows = PaymentProvider.objects.filter(group_id=account.site.group_id, active=True).select_related("point")
    found = [p for p in rows.order_by("pk") if p.site_id in (None, account.site_id)]
    if not conf.simulator_enabled():
        found = [p for p in found if p.kind != ProviderKind.SIMULATED]
    return found


def _check_provider(provider: PaymentProvider, account: Account) -> None:
    if provider not in providers_for(account):
        raise ActionError(
            "provider_unavailable",
            _("This payment method is not available for account %(a)s. Choose another.")
            % {"a": account.number},
        )


# --------------------------------------------------------------------------------------------------
# orders


@transaction.atomic
def do_create_order(
    *, account: Account, provider: PaymentProvider, amount: Any, actor: Any, request_key: str = ""
) -> PaymentOrder:
    """A new order for ``amount`` (yuan) on ``account``, paid through ``provider``.

    ``actor`` is who asks (the portal's customer actor). Refused, with nothing written, when the
    provider does not serve the account or when the sale itself would be refused now (closed
    account, no meter, tariff minimum or maximum, the site's sale limits). ``request_key`` (the
    buyer's form): asking again with it returns the first order of that request.
    """
    value = parse_amount(amount, _("The amount"), places=2)
    account = locked(Account, account.pk, "site", "customer")
    key = (request_key or "").strip()[:64] or None
    if key is not None:
        first = PaymentOrder.objects.filter(request_key=key).first()
        if first is not None:
            if (first.account_id, first.provider_id, first.amount) != (account.pk, provider.pk, value):
                raise ActionError(
                    "idempotency_conflict", _("This form was already used for another order; start again.")
                )
            return first
    _check_provider(provider, account)
    quote_vend(account=account, actor=provider.user, amount=value)
    order = PaymentOrder.objects.create(
        number=new_order_number(),
        provider=provider,
        account=account,
        amount=value,
        request_key=key,
        expires_at=timezone.now() + conf.order_lifetime(),
    )
    record_event(
        actor=actor,
        verb="payment.order",
        obj=order,
        group_id=account.site.group_id,
        site_id=account.site_id,
        after={
            "order": order.number,
            "account": account.number,
            "amount": str(value),
            "provider": provider.code,
        },
    )
    return order


def start_checkout(order: PaymentOrder, *, notify_url: str, return_url: str) -> PaymentOrder:
    """Ask the provider how the customer pays ``order`` (a network call for WeChat Pay, outside any
    transaction) and keep the answer on the order. A refusal (``ProviderUnavailable``) leaves the
    order unpaid and harmless."""
    if order.checkout_url:
        return order
    checkout = adapter_for(order.provider).checkout(order, notify_url=notify_url, return_url=return_url)
    PaymentOrder.objects.filter(pk=order.pk, checkout_url="").update(
        checkout_kind=checkout.kind, checkout_url=checkout.url[:1000]
    )
    order.refresh_from_db()
    return order


# --------------------------------------------------------------------------------------------------
# notifications


def handle_notification(provider: PaymentProvider, headers: Mapping[str, str], body: bytes) -> Reply:
    """Check a notification's signature and act on it; the answer the provider expects. A refused
    notification (forged, stale, malformed) changes nothing and is answered as a failure, so a
    genuine one that failed in transit is sent again."""
    try:
        adapter = adapter_for(provider)
    except ActionError as exc:  # credentials unreadable: the provider will send it again later
        log.error("payment notification for provider %s not read: %s", provider.code, exc.code)
        return json_reply(503, {"code": "FAIL", "message": exc.code})
    if provider.kind == ProviderKind.SIMULATED and not conf.simulator_enabled():
        return adapter.nack(NotificationRefused("simulator_off", "the payment simulator is off"))
    try:
        notice = adapter.verify(headers, body, now=timezone.now())
    except NotificationRefused as refusal:
        log.warning("payment notification refused for provider %s: %s", provider.code, refusal.code)
        return adapter.nack(refusal)
    do_confirm_payment(provider=provider, notice=notice)
    return adapter.ack()


def _note(
    provider: PaymentProvider, notice: Notice, order: PaymentOrder | None, outcome: str, detail: str = ""
) -> PaymentNotification:
    return PaymentNotification.objects.create(
        provider=provider,
        order=order,
        event_id=notice.event_id,
        out_trade_no=notice.out_trade_no,
        provider_trade_no=notice.provider_trade_no,
        state=notice.state,
        amount=notice.amount,
        outcome=outcome,
        detail=detail[:400],
    )


@transaction.atomic
def do_confirm_payment(*, provider: PaymentProvider, notice: Notice) -> PaymentNotification:
    """Act on a verified notice, under the order's row lock: sell a paid, amount-matching order once;
    queue a paid order that cannot be sold (or was paid a different amount) for finance; record
    anything else (not paid, a repeat, an unknown order, a second payment) without selling."""
    order = (
        PaymentOrder.objects.select_for_update(of=("self",))
        .select_related("account__site", "provider")
        .filter(provider=provider, number=notice.out_trade_no)
        .first()
    )
    if not notice.paid:
        note = _note(provider, notice, order, Outcome.NOT_PAID)
    elif order is None:
        note = _note(provider, notice, None, Outcome.UNKNOWN_ORDER, _("No such order in Prepay."))
    elif order.status != OrderStatus.CREATED:
        same = order.provider_trade_no == notice.provider_trade_no
        note = _note(provider, notice, order, Outcome.DUPLICATE if same else Outcome.SECOND_PAYMENT)
    else:
        note = _settle(order, notice)
    site = order.account.site if order is not None else None
    record_event(
        actor=provider.user,
        verb="payment.notify",
        obj=order if order is not None else provider,
        group_id=provider.group_id,
        site_id=site.pk if site is not None else provider.site_id,
        after={
            "order": notice.out_trade_no,
            "transaction": notice.provider_trade_no,
            "state": notice.state,
            "amount": str(notice.amount) if notice.amount is not None else None,
            "outcome": note.outcome,
            "status": order.status if order is not None else None,
        },
    )
    return note


def _settle(order: PaymentOrder, notice: Notice) -> PaymentNotification:
    """A first paid notice of a ``created`` order: record the payment, then sell or queue."""
    taken = PaymentOrder.objects.filter(provider=order.provider, provider_trade_no=notice.provider_trade_no)
    if notice.provider_trade_no and taken.exists():
        return _note(
            order.provider, notice, order, Outcome.SECOND_PAYMENT, _("The transaction paid another order.")
        )
    order.provider_trade_no = notice.provider_trade_no
    order.paid_amount = notice.amount
    order.paid_at = notice.paid_at or timezone.now()
    if notice.currency != "CNY" or notice.amount != order.amount:
        order.status = OrderStatus.ATTENTION
        order.problem_code = "amount_mismatch"
        order.problem = _("%(paid)s %(cur)s was paid for an order of %(amount)s; nothing was sold.") % {
            "paid": notice.amount,
            "cur": notice.currency,
            "amount": order.amount,
        }
        order.save()
        return _note(order.provider, notice, order, Outcome.AMOUNT_MISMATCH, order.problem)
    try:
        vend = _sell(order, order.amount)
    except ActionError as exc:
        order.status, order.problem_code, order.problem = OrderStatus.ATTENTION, exc.code, str(exc)[:400]
        order.save()
        return _note(order.provider, notice, order, Outcome.ATTENTION, order.problem)
    order.status, order.vend = OrderStatus.SOLD, vend
    order.save()
    return _note(order.provider, notice, order, Outcome.SOLD)


def _sell(order: PaymentOrder, amount: Decimal) -> Vend:
    """``do_vend`` for the order (in a savepoint: a refusal rolls back the sale, not the payment)."""
    from prepay.payments.messages import queue_purchase_message

    provider = order.provider
    with transaction.atomic():
        vend = do_vend(
            account=order.account,
            actor=provider.user,
            point=provider.point,
            idempotency_key=sale_key(order),
            amount=amount,
            method=PaymentMethod.ONLINE,
            reference=order.provider_trade_no or order.number,
            channel=f"{provider.kind}:{provider.code}:{order.number}",
        )
        queue_purchase_message(vend, order.number)
    return vend


# --------------------------------------------------------------------------------------------------
# finance decides a paid order that was not sold


def _decidable(order: PaymentOrder, actor: Any) -> PaymentOrder:
    order = locked(PaymentOrder, order.pk)
    account = Account.objects.select_related("site").get(pk=order.account_id)
    require(actor, "reversal.approve", group_id=account.site.group_id, site_id=account.site_id)
    if order.status != OrderStatus.ATTENTION:
        raise ActionError(
            "not_waiting",
            _("Order %(o)s is not waiting for a decision (it is: %(s)s).")
            % {"o": order.number, "s": OrderStatus(order.status).label},
        )
    return order


@transaction.atomic
def do_sell_order(*, order: PaymentOrder, actor: Any) -> PaymentOrder:
    """Sell a paid order that waits in ``attention`` (after its problem was fixed: a limit raised, a
    tariff corrected); the money actually paid is sold. A refusal changes nothing."""
    order = _decidable(order, actor)
    amount = order.paid_amount if order.paid_amount is not None else order.amount
    vend = _sell(order, amount)
    before = {"status": order.status, "problem": order.problem_code}
    order.status, order.vend, order.decided_by = OrderStatus.SOLD, vend, actor
    order.save()
    record_event(
        actor=actor,
        verb="payment.sell",
        obj=order,
        group_id=order.account.site.group_id,
        site_id=order.account.site_id,
        before=before,
        after={"status": order.status, "receipt": vend.receipt_no, "amount": str(amount)},
    )
    return order


def do_refund_order(*, order: PaymentOrder, actor: Any, reason: str, reference: str = "") -> PaymentOrder:
    """Give back the money of a paid order that was not sold: through the provider (a network call
    between two short transactions; a retry reuses the same refund number, so the provider refunds
    once), or, with ``reference``, record a refund already made in the merchant platform."""
    reason = (reason or "").strip()
    if not reason:
        raise ActionError("reason_required", _("Give the reason for the refund."))
    with transaction.atomic():
        order = _decidable(order, actor)
        if not order.refund_no:
            order.refund_no = f"R{order.number[1:]}"[:32]
            order.save(update_fields=["refund_no"])
    ref = (reference or "").strip()[:64] or adapter_for(order.provider).refund(
        order, refund_no=order.refund_no, reason=reason
    )
    with transaction.atomic():
        order = _decidable(order, actor)
        order.status, order.refund_ref, order.refunded_at = OrderStatus.REFUNDED, ref, timezone.now()
        order.decided_by = actor
        order.save()
        record_event(
            actor=actor,
            verb="payment.refund",
            obj=order,
            group_id=order.account.site.group_id,
            site_id=order.account.site_id,
            before={"status": OrderStatus.ATTENTION},
            after={
                "status": order.status,
                "refund_no": order.refund_no,
                "provider_refund": ref,
                "amount": str(order.paid_amount),
                "reason": reason[:200],
                "recorded_only": bool(reference),
            },
        )
    return order
