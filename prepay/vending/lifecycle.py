"""Account lifecycle steps that settle money: transfer ownership (过户) and close (销户).

They live with vending (not ``prepay.customers``) because they post to the ledger: the old owner's
balance refunded at a transfer, the credit left on the meter returned and the balance refunded at a
closing. Every function is atomic, validates before it writes, locks what it changes and writes one
audit event in the same transaction. A refusal raises :class:`ActionError` and changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event, snapshot
from prepay.common.actions import locked
from prepay.common.errors import ActionError
from prepay.customers.choices import AccountMode, AccountStatus, Utility
from prepay.customers.models import Account, Customer
from prepay.domain.money import energy as q_energy
from prepay.domain.money import money
from prepay.meters.actions import end_installation
from prepay.meters.models import Installation
from prepay.tariffs.engine import tariff_for
from prepay.tenancy.scoping import require
from prepay.vending import ledger
from prepay.vending.deliveries import pending_deliveries
from prepay.vending.models import CreditDelivery, EntryKind, Reversal, ReversalStatus, Vend, VendStatus


def _audit(actor: Any, verb: str, account: Account, before: Any, after: dict[str, Any]) -> None:
    site = account.site
    record_event(
        actor=actor,
        verb=verb,
        obj=account,
        group_id=site.group_id,
        site_id=site.pk,
        before=before,
        after=after,
    )


def _pending_approvals(account: Account) -> bool:
    return (
        Vend.objects.filter(account=account, status=VendStatus.PENDING_APPROVAL).exists()
        or Reversal.objects.filter(account=account, status=ReversalStatus.REQUESTED).exists()
    )


def _undelivered_credit(account: Account) -> Decimal | None:
    """The energy of the account's carried credit not yet delivered to a meter (None when none):
    closing would lose it, as the refund counts only the credit on the meter."""
    total = pending_deliveries(CreditDelivery.objects.filter(account=account)).aggregate(e=Sum("energy"))["e"]
    return None if total is None else q_energy(total)


@transaction.atomic
def do_transfer_account(
    *,
    account: Account,
    new_customer: Customer,
    reading: Decimal,
    actor: Any,
    refund_balance: bool = True,
    idempotency_key: str | None = None,
) -> Account:
    """过户: move an open account (and its unit and meter) to ``new_customer``, settling the old owner.

    ``reading`` is the meter reading at hand-over (kept in the audit event). With ``refund_balance``
    the old owner's positive balance is refunded; otherwise it stays with the account by agreement.
    Refused with arrears (pay first), a reversal awaiting approval, a closed account, the same
    customer, or a customer at another site.
    """
    account = locked(Account, account.pk)
    site = account.site
    require(actor, "account.lifecycle", group_id=site.group_id, site_id=site.pk)
    if account.status == AccountStatus.CLOSED:
        raise ActionError("closed", _("The account is closed."))
    if new_customer.site_id != site.pk:
        raise ActionError("wrong_site", _("The new customer is registered at another site."))
    if new_customer.pk == account.customer_id:
        raise ActionError("same_customer", _("The account already belongs to this customer."))
    if _pending_approvals(account):
        raise ActionError("pending_approval", _("A reversal is awaiting approval; finish it first."))
    reading = q_energy(reading)
    installation = account.installations.filter(ended_at__isnull=True).first()
    if installation is not None and reading < installation.opening_reading:
        raise ActionError("reading_backwards", _("The reading is below the meter's opening reading."))
    balance = ledger.balance_of(account)
    if balance < 0:
        raise ActionError(
            "arrears", _("The account is in arrears (%(b)s); the old owner must pay first.") % {"b": balance}
        )
    before = snapshot(account)
    refunded = Decimal("0.00")
    if refund_balance and balance > 0:
        ledger.post(
            account,
            EntryKind.TRANSFER,
            -balance,
            actor=actor,
            idempotency_key=idempotency_key,
            memo=_("Balance refunded to previous owner %(c)s") % {"c": account.customer.number},
        )
        refunded = balance
    old_customer = account.customer
    account.customer = new_customer
    account.save(update_fields=["customer"])
    _audit(
        actor,
        "account.transfer",
        account,
        before,
        snapshot(account)
        | {"reading": str(reading), "refunded": str(refunded), "previous_customer": old_customer.number},
    )
    return account


@transaction.atomic
def do_close_account(
    *,
    account: Account,
    final_reading: Decimal,
    actor: Any,
    remaining_credit: Decimal = Decimal("0"),
    idempotency_key: str | None = None,
) -> Decimal:
    """销户: final reading, settlement, refund of the remaining credit, meter released.

    ``remaining_credit`` is the credit (kWh / m³) still on a local-control meter; it is returned to
    the account at the tariff's unit price, then the whole positive balance is refunded. Returns the
    refunded amount. Refused with arrears, a reversal awaiting approval, an account already closed,
    a final reading below the opening reading, or negative credit.
    """
    account = locked(Account, account.pk)
    site = account.site
    require(actor, "account.lifecycle", group_id=site.group_id, site_id=site.pk)
    _check_closable(account)
    final_reading, remaining_credit = q_energy(final_reading), q_energy(remaining_credit)
    installation = _closing_installation(account, final_reading, remaining_credit)
    before = snapshot(account)
    returned = _return_credit(account, remaining_credit, actor) if remaining_credit > 0 else Decimal("0.00")
    balance = _refund_on_closing(account, actor, idempotency_key)
    if installation is not None:
        end_installation(
            installation,
            closing_reading=final_reading,
            credit_left=remaining_credit,
            reason=_("Account closed"),
        )
    account.status = AccountStatus.CLOSED
    account.closed_at = timezone.now()
    account.save(update_fields=["status", "closed_at"])
    _audit(
        actor,
        "account.close",
        account,
        before,
        snapshot(account)
        | {"final_reading": str(final_reading), "credit_returned": str(returned), "refunded": str(balance)},
    )
    return balance


def _check_closable(account: Account) -> None:
    """Refuse closing an account already closed, with a reversal awaiting approval or with carried
    credit not yet delivered to its meter."""
    if account.status == AccountStatus.CLOSED:
        raise ActionError("closed", _("The account is already closed."))
    if _pending_approvals(account):
        raise ActionError(
            "pending_approval", _("A reversal is awaiting approval; the account cannot be closed yet.")
        )
    carried = _undelivered_credit(account)
    if carried is not None:
        raise ActionError(
            "credit_undelivered",
            _(
                "Credit carried over at a meter replacement (%(e)s %(u)s) has not reached the meter yet; "
                "deliver it (Pending deliveries) before closing the account, so that it is counted in "
                "the credit left on the meter."
            )
            % {"e": carried, "u": "m³" if account.utility == Utility.WATER else "kWh"},
        )


def _closing_installation(
    account: Account, final_reading: Decimal, remaining_credit: Decimal
) -> Installation | None:
    """The account's active installation, if any, to end at ``final_reading``; refused with negative
    credit, credit on a meter that holds none, or a reading below the meter's opening reading."""
    if remaining_credit < 0:
        raise ActionError("invalid", _("Remaining credit cannot be negative."))
    if remaining_credit > 0 and account.mode != AccountMode.LOCAL:
        raise ActionError(
            "invalid", _("Only local-control meters hold credit; the balance is refunded from the ledger.")
        )
    installation = account.installations.filter(ended_at__isnull=True).select_related("meter").first()
    if installation is not None and final_reading < installation.opening_reading:
        raise ActionError("reading_backwards", _("The final reading is below the meter's opening reading."))
    return installation


def _return_credit(account: Account, remaining_credit: Decimal, actor: Any) -> Decimal:
    """Credit the account with the value of the credit left on its meter; that value."""
    # the tariff that prices the account's sales today (override, site default, group default)
    tariff, _engine = tariff_for(account, timezone.localdate())
    # The credit was bought at this price; valuing it at the same price returns what was paid.
    returned = money(remaining_credit * tariff.unit_price)
    ledger.post(
        account,
        EntryKind.CREDIT_RETURN,
        returned,
        actor=actor,
        energy=remaining_credit,
        memo=_("Credit left on meter at closing"),
    )
    return returned


def _refund_on_closing(account: Account, actor: Any, idempotency_key: str | None) -> Decimal:
    """Refund the account's whole positive balance (refused in arrears); the balance refunded."""
    balance = ledger.balance_of(account)
    if balance < 0:
        raise ActionError(
            "arrears",
            _("The account is in arrears (%(b)s); it must be paid before closing.") % {"b": balance},
        )
    if balance > 0:
        ledger.post(
            account,
            EntryKind.REFUND,
            -balance,
            actor=actor,
            idempotency_key=idempotency_key,
            memo=_("Refund on closing"),
        )
    return balance
