"""Billing verbs: charge, restore / protect supply, fees, postpaid bills and payments, switching
prepaid ↔ postpaid, public-area apportionment.

Every ``do_*`` function is atomic, checks the actor's capability on the account's site, locks rows in
a fixed order (accounts by pk), moves money only through :func:`prepay.vending.ledger.post` with an
idempotency key, and writes its audit event in the same transaction. A refusal raises
:class:`ActionError` and changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event
from prepay.billing import charging, lookups, supply
from prepay.billing.models import (
    ApportionmentRun,
    ApportionmentShare,
    Bill,
    BillPayment,
    Charge,
    FeeCharge,
    FeeFrequency,
    FeeSchedule,
    ProtectedSupply,
    PublicMeterGroup,
    SupplyState,
)
from prepay.billing.readings import installed_energy, meter_energy
from prepay.common.actions import locked
from prepay.common.errors import ActionError
from prepay.customers.choices import AccountMode, AccountStatus, BillingMode, Utility
from prepay.customers.models import Account, Unit
from prepay.domain import apportionment as ap
from prepay.domain import warnings as rule
from prepay.domain.money import money
from prepay.domain.tariffs import cycle_bounds
from prepay.notify.actions import queue_notification
from prepay.tenancy.models import Site
from prepay.tenancy.scoping import require
from prepay.vending import ledger
from prepay.vending.models import EntryKind, LedgerEntry


def _audit(actor: Any, verb: str, obj: Any, site: Site, **after: Any) -> None:
    record_event(
        actor=actor,
        verb=verb,
        obj=obj,
        group_id=site.group_id,
        site_id=site.pk,
        after={
            k: v if isinstance(v, (int, bool, type(None), list, dict)) else str(v) for k, v in after.items()
        },
    )


def _require(actor: Any, capability: str, site: Site) -> None:
    require(actor, capability, group_id=site.group_id, site_id=site.pk)


def local_midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=lookups.local_tz())


def month_bounds(d: date) -> tuple[date, date]:
    return cycle_bounds("month", d)


# ---- charging ---------------------------------------------------------------------------------------


def charge_and_evaluate(
    account: Account, *, until: datetime | None = None, actor: Any = None
) -> list[Charge]:
    """Charge the (locked) account and apply the warning rule. Caller holds the lock in a transaction."""
    charges = charging.charge_account(account, until=until, actor=actor)
    supply.evaluate_supply(account, actor=actor)
    return charges


def claim_and_charge(
    account_id: int, *, until: datetime | None = None, actor: Any = None
) -> list[Charge] | None:
    """For workers: charge one account in its own transaction, skipping it (None) when another
    worker holds its lock (``select_for_update(skip_locked=True)``; plain locking on SQLite)."""
    with transaction.atomic():
        account = Account.objects.select_for_update(skip_locked=True).filter(pk=account_id).first()
        if account is None:
            return None
        return charge_and_evaluate(account, until=until, actor=actor)


@transaction.atomic
def do_charge_account(*, account: Account, actor: Any, until: datetime | None = None) -> list[Charge]:
    """Charge a remote-control account for everything read up to ``until`` (default now), by hand.

    Refused for a closed account or one in local fee control (its meter holds the credit).
    """
    account = locked(Account, account.pk)
    _require(actor, "billing.run", account.site)
    if account.status == AccountStatus.CLOSED:
        raise ActionError("closed", _("The account is closed."))
    if account.mode != AccountMode.REMOTE:
        raise ActionError(
            "local_control", _("The account is in local fee control: its meter holds the credit.")
        )
    try:
        charges = charge_and_evaluate(account, until=until, actor=actor)
    except lookups.TariffMissing:
        raise ActionError("no_tariff", _("No tariff is in force for this account.")) from None
    _audit(
        actor,
        "billing.charge",
        account,
        account.site,
        charges=len(charges),
        amount=sum((c.amount for c in charges), Decimal("0.00")),
    )
    return charges


# ---- supply: restore and protect ---------------------------------------------------------------------


@transaction.atomic
def do_restore_supply(*, account: Account, actor: Any) -> SupplyState:
    """Restore supply after the level-2 reminder cut (customer request at the counter or a clerk).

    Refused when supply is not cut by the rule (``not_cut``) or is cut until payment
    (``cut_until_payment``: zero credit, overdue bills, fee arrears).
    """
    account = locked(Account, account.pk)
    _require(actor, "supply.restore", account.site)
    state = SupplyState.objects.select_for_update().filter(account=account).first()
    current = supply._to_domain(state) if state else rule.SupplyState()
    try:
        new = rule.restore(current)
    except rule.WarningError as exc:
        msg = (
            _("Supply is cut until payment.")
            if exc.code == "cut_until_payment"
            else _("Supply is not cut by the low-credit rule.")
        )
        raise ActionError(exc.code, msg) from None
    assert state is not None
    state.cut = new.cut
    state.commands += 1
    state.save()
    supply.queue_relay(
        account, "close", reason="restore", key=f"supply:{account.pk}:{state.commands}", actor=actor
    )
    _audit(actor, "supply.restore", account, account.site, balance=ledger.balance_of(account))
    return state


@transaction.atomic
def do_protect_supply(
    *, account: Account, starts_at: datetime, ends_at: datetime, reason: str, actor: Any
) -> ProtectedSupply:
    """保电: never cut ``account`` between ``starts_at`` and ``ends_at``. A cut relay is closed now.

    Refused without a reason, with an empty or reversed window, a window longer than a year, or one
    that ended already.
    """
    account = locked(Account, account.pk)
    _require(actor, "supply.protect", account.site)
    reason = reason.strip()
    if not reason:
        raise ActionError("reason_required", _("Say why supply is protected."))
    if ends_at <= starts_at:
        raise ActionError("bad_window", _("The protection must end after it starts."))
    if ends_at <= timezone.now():
        raise ActionError("bad_window", _("The protection window is already over."))
    if ends_at - starts_at > timedelta(days=366):
        raise ActionError("too_long", _("Supply can be protected for at most a year at a time."))
    if account.status == AccountStatus.CLOSED:
        raise ActionError("closed", _("The account is closed."))
    prot = ProtectedSupply.objects.create(
        account=account,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason[:200],
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _audit(
        actor, "supply.protect", account, account.site, starts_at=starts_at, ends_at=ends_at, reason=reason
    )
    now = timezone.now()
    if starts_at <= now:  # a later window gets its keep-power from the billing daemon when it begins
        supply.keep_power_on(prot, now)
    supply.evaluate_supply(account, actor=actor)
    return prot


@transaction.atomic
def do_end_protected_supply(*, protection: ProtectedSupply, actor: Any) -> ProtectedSupply:
    """End a protection early; the warning rule applies again at once (and may cut)."""
    account = locked(Account, protection.account_id)
    _require(actor, "supply.protect", account.site)
    prot = locked(ProtectedSupply, protection.pk)
    now = timezone.now()
    if prot.cancelled_at is not None or prot.ends_at <= now:
        raise ActionError("not_active", _("This protection is already over."))
    prot.cancelled_at = now
    prot.save(update_fields=["cancelled_at"])
    _audit(actor, "supply.unprotect", account, account.site, protection=prot.pk)
    supply.keep_power_off(prot, now)
    supply.evaluate_supply(account, actor=actor)
    return prot


# ---- fees ------------------------------------------------------------------------------------------------


def _fee_account(schedule: FeeSchedule) -> Account | None:
    if schedule.account_id:
        acc = schedule.account
        return acc if acc is not None and acc.status != AccountStatus.CLOSED else None
    qs = Account.objects.filter(unit_id=schedule.unit_id).exclude(status=AccountStatus.CLOSED)
    # one fee per unit: the electricity account if there is one, else the water account
    return qs.filter(utility=Utility.ELECTRICITY).order_by("pk").first() or qs.order_by("pk").first()


def _fee_period(schedule: FeeSchedule, month: date) -> date | None:
    first, nxt = month_bounds(month)
    if schedule.frequency == FeeFrequency.ONCE:
        return schedule.starts_on if first <= schedule.starts_on < nxt else None
    if schedule.starts_on >= nxt or (schedule.ends_on is not None and schedule.ends_on < first):
        return None
    return first


def charge_fees(site: Site, month: date, *, actor: Any = None) -> list[FeeCharge]:
    """Charge every active fee due in ``month`` (idempotent: ``fee:<schedule>:<period>``)."""
    out: list[FeeCharge] = []
    for schedule in FeeSchedule.objects.filter(site=site, active=True).order_by("pk"):
        period = _fee_period(schedule, month)
        if period is None or FeeCharge.objects.filter(schedule=schedule, period=period).exists():
            continue
        target = _fee_account(schedule)
        if target is None:
            continue
        with transaction.atomic():
            account = locked(Account, target.pk)
            entry = ledger.post(
                account,
                EntryKind.FEE,
                -schedule.amount,
                actor=actor,
                memo=f"{schedule.name} {period:%Y-%m}",
                idempotency_key=f"fee:{schedule.pk}:{period.isoformat()}",
                book=ledger.REVENUE_FEES,
            )
            out.append(
                FeeCharge.objects.create(
                    schedule=schedule, account=account, period=period, amount=schedule.amount, entry=entry
                )
            )
            supply.evaluate_supply(account, actor=actor)
    return out


@transaction.atomic
def do_charge_fees(*, site: Site, month: date, actor: Any) -> list[FeeCharge]:
    """Charge the site's fees due in ``month``; running it again charges nothing new."""
    _require(actor, "billing.run", site)
    out = charge_fees(site, month, actor=actor)
    _audit(actor, "billing.fees", site, site, month=month.isoformat()[:7], charged=len(out))
    return out


# ---- postpaid bills ----------------------------------------------------------------------------------------


def may_have_bills(account: Account) -> bool:
    """Whether ``account`` may hold bills: bills are issued to postpaid accounts only, and only a
    remote-control account can leave postpaid billing (``local_control``); mode never changes. So a
    local-control prepaid account never had one, and its sales need not look (issue 17)."""
    return account.billing == BillingMode.POSTPAID or account.mode == AccountMode.REMOTE


def settle_bills(account: Account) -> None:
    """Mark bills settled oldest first from the balance: what is owed on issued bills is the debt
    (−balance) less the debits not yet billed; the newest bills carry that debt, older ones are paid."""
    if not may_have_bills(account):
        return
    bills = list(Bill.objects.filter(account=account).order_by("-period_start", "-pk"))
    if not bills:
        return
    balance = ledger.balance_of(account)
    unbilled = -(
        LedgerEntry.objects.filter(account=account, seq__gt=bills[0].to_seq, amount__lt=0).aggregate(
            s=Sum("amount")
        )["s"]
        or Decimal("0.00")
    )
    owed = max(-balance - unbilled, Decimal("0.00"))
    now = timezone.now()
    for bill in bills:
        paid = owed <= 0
        owed -= bill.amount
        if paid and bill.settled_at is None:
            bill.settled_at = now
            bill.save(update_fields=["settled_at"])
        elif not paid and bill.settled_at is not None:
            bill.settled_at = None
            bill.save(update_fields=["settled_at"])


def issue_bill(account: Account, period_start: date, period_end: date, *, actor: Any = None) -> Bill | None:
    """Bill the account's debits not yet on a bill (caller holds the lock). None if already billed."""
    if Bill.objects.filter(account=account, period_start=period_start).exists():
        return None
    last = Bill.objects.filter(account=account).order_by("-to_seq").first()
    from_seq = last.to_seq if last else 0
    entries = LedgerEntry.objects.filter(account=account, seq__gt=from_seq)
    to_seq = entries.order_by("-seq").values_list("seq", flat=True).first() or from_seq
    debits = entries.filter(amount__lt=0, kind__in=[EntryKind.CHARGE, EntryKind.FEE])
    lines = [
        {"kind": k, "amount": str(-(a or 0)), "energy": str(e or 0)}
        for k, a, e in debits.values("kind")
        .annotate(a=Sum("amount"), e=Sum("energy"))
        .values_list("kind", "a", "e")
    ]
    amount = -(debits.aggregate(s=Sum("amount"))["s"] or Decimal("0.00"))
    energy = debits.filter(kind=EntryKind.CHARGE).aggregate(s=Sum("energy"))["s"] or Decimal("0")
    settings_ = supply.site_settings(account.site_id)
    bill = Bill.objects.create(
        account=account,
        number=f"{account.number}-{period_start:%Y%m}",
        period_start=period_start,
        period_end=period_end,
        amount=amount,
        energy=energy,
        lines=lines,
        from_seq=from_seq,
        to_seq=to_seq,
        issued_at=timezone.now(),
        due_date=timezone.localdate() + timedelta(days=settings_.bill_due_days),
    )
    settle_bills(account)
    queue_notification(
        account,
        "bill",
        {"amount": amount, "period": f"{period_start:%Y-%m}", "due": bill.due_date.isoformat()},
        idempotency_key=f"bill:{bill.pk}",
    )
    return bill


def issue_bills(site: Site, month: date, *, actor: Any = None) -> list[Bill]:
    """Charge to the month's end, then bill every postpaid account of the site for ``month``."""
    first, nxt = month_bounds(month)
    out = []
    ids = Account.objects.filter(site=site, billing=BillingMode.POSTPAID).exclude(status=AccountStatus.CLOSED)
    for pk in ids.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            account = locked(Account, pk)
            charging.charge_account(account, until=local_midnight(nxt), actor=actor)
            bill = issue_bill(account, first, nxt - timedelta(days=1), actor=actor)
            supply.evaluate_supply(account, actor=actor)
            if bill is not None:
                out.append(bill)
    return out


@transaction.atomic
def do_issue_bills(*, site: Site, month: date, actor: Any) -> list[Bill]:
    """Issue the month's postpaid bills at a site; re-running issues nothing new."""
    _require(actor, "billing.run", site)
    out = issue_bills(site, month, actor=actor)
    _audit(actor, "billing.bills", site, site, month=f"{month:%Y-%m}", issued=len(out))
    return out


@transaction.atomic
def do_pay_bill(*, bill: Bill, amount: Decimal, actor: Any, idempotency_key: str) -> BillPayment:
    """Take a payment against a bill at the counter: a ledger PAYMENT, recorded against the bill;
    bills are then settled oldest first and a relay cut for overdue bills closes when they are paid.

    Refused for a non-positive amount, without an idempotency key, or for a bill already settled.
    A repeated key returns the first payment and moves no money.
    """
    account = locked(Account, bill.account_id)
    _require(actor, "vend.sell", account.site)
    if not idempotency_key:
        raise ActionError("idempotency_key_required", _("A payment needs an idempotency key."))
    existing = BillPayment.objects.filter(entry__idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    amount = money(amount)
    if amount <= 0:
        raise ActionError("not_positive", _("The amount must be positive."))
    bill = locked(Bill, bill.pk)
    if bill.settled_at is not None:
        raise ActionError("settled", _("This bill is already paid."))
    entry = ledger.post(
        account,
        EntryKind.PAYMENT,
        amount,
        actor=actor,
        memo=f"bill {bill.number}",
        idempotency_key=idempotency_key,
    )
    payment = BillPayment.objects.create(bill=bill, entry=entry, amount=amount)
    settle_bills(account)
    supply.evaluate_supply(account, actor=actor)
    _audit(actor, "bill.pay", bill, account.site, amount=amount, account=account.number)
    return payment


@transaction.atomic
def do_switch_billing(*, account: Account, to: str, actor: Any) -> Account:
    """Switch a remote-control account between prepaid and postpaid, settling first.

    Consumption is charged up to now. Postpaid → prepaid issues a final bill for what is not yet
    billed and is refused while the balance is negative (``arrears``: pay first). Prepaid → postpaid
    keeps the remaining credit, which pays the first bills. Refused for a local-control account
    (``local_control``), a closed account, an unknown mode, or the mode it already has.
    """
    account = locked(Account, account.pk)
    _require(actor, "supply.restore", account.site)
    if to not in BillingMode.values:
        raise ActionError("invalid", _("Unknown billing mode."))
    if account.status == AccountStatus.CLOSED:
        raise ActionError("closed", _("The account is closed."))
    if account.billing == to:
        raise ActionError("same_mode", _("The account is already billed that way."))
    if account.mode != AccountMode.REMOTE:
        raise ActionError("local_control", _("Only remote fee control accounts can be postpaid."))
    before = account.billing
    charging.charge_account(account, actor=actor)
    if to == BillingMode.PREPAID:
        today = timezone.localdate()
        balance = ledger.balance_of(account)
        if balance < 0:
            raise ActionError(
                "arrears", _("The account owes %(b)s; it must be paid before switching.") % {"b": -balance}
            )
        last = Bill.objects.filter(account=account).order_by("-to_seq").first()
        has_unbilled = LedgerEntry.objects.filter(
            account=account, seq__gt=last.to_seq if last else 0, amount__lt=0
        ).exists()
        if has_unbilled:
            first = month_bounds(today)[0]
            if Bill.objects.filter(account=account, period_start=first).exists():
                first = today
            issue_bill(account, first, today, actor=actor)
    account.billing = to
    account.save(update_fields=["billing"])
    SupplyState.objects.filter(account=account).update(level="normal", reminder_done=False)
    supply.evaluate_supply(account, actor=actor)
    _audit(
        actor,
        "account.billing_mode",
        account,
        account.site,
        before=before,
        to=to,
        balance=ledger.balance_of(account),
    )
    return account


# ---- payments from elsewhere -------------------------------------------------------------------------------


def on_account_credited(
    sender: Any = None, *, account: Account, entry: LedgerEntry | None = None, **kw: Any
) -> None:
    """Receiver of ``prepay.vending.signals.account_credited`` (inside the payment's transaction, with the
    account locked): settle bills and apply the warning rule, which closes a relay cut for credit."""
    settle_bills(account)
    supply.evaluate_supply(account, actor=getattr(entry, "created_by", None))


# ---- public-area apportionment --------------------------------------------------------------------------------


def _unit_account(unit: Unit, utility: str) -> Account | None:
    return (
        Account.objects.filter(unit=unit, utility=utility)
        .exclude(status=AccountStatus.CLOSED)
        .order_by("pk")
        .first()
    )


def run_apportionment(
    group: PublicMeterGroup, start: date, end: date, *, actor: Any = None
) -> ApportionmentRun:
    """Share the group's public energy over ``[start, end)`` among its units and charge each share.

    Idempotent: a period already run returns the stored run; each share's ledger key is
    ``apport:<group>:<start>:<unit>``.
    """
    existing = ApportionmentRun.objects.filter(public_group=group, period_start=start).first()
    if existing is not None:
        return existing
    lo, hi = local_midnight(start), local_midnight(end)
    meters = list(group.meters.order_by("pk"))
    per_meter = {m.serial: meter_energy(m, lo, hi) for m in meters}
    total = sum(per_meter.values(), Decimal("0"))
    units = list(group.units.order_by("pk"))
    if not units:
        raise ActionError("no_units", _("The public meter group has no units."))
    if group.method == ap.Method.AREA:
        bases: list[tuple[int, object]] = [(u.pk, u.area) for u in units]
    elif group.method == ap.Method.CONSUMPTION:
        bases = [(u.pk, installed_energy(u, group.utility, lo, hi)) for u in units]
    else:
        bases = [(u.pk, Decimal(1)) for u in units]
    result = ap.apportion(total, group.method, bases)
    price = Decimal(group.price)
    total_money = money(total * price)
    amounts = ap.allocate(total_money, [(s.key, s.amount.copy_abs()) for s in result.shares], ap.MONEY_STEP)
    run = ApportionmentRun.objects.create(
        public_group=group,
        period_start=start,
        period_end=end,
        method=group.method,
        total_energy=total,
        basis_total=str(result.basis_total),
        fallback=result.fallback,
        price=str(price),
        meters=[{"meter": k, "energy": str(v)} for k, v in per_meter.items()],
    )
    by_pk = {u.pk: u for u in units}
    targets = {s.key: _unit_account(by_pk[s.key], group.utility) for s in result.shares}
    for acc_id in sorted(a.pk for a in targets.values() if a is not None):
        locked(Account, acc_id)  # fixed lock order before posting
    for share, amount in zip(result.shares, amounts, strict=True):
        account = targets[share.key]
        entry = None
        if account is not None and amount != 0:
            entry = ledger.post(
                account,
                EntryKind.CHARGE,
                -amount,
                actor=actor,
                energy=share.amount,
                memo=f"{group.name} {start:%Y-%m-%d}–{end:%Y-%m-%d}",
                idempotency_key=f"apport:{group.pk}:{start.isoformat()}:{share.key}",
                book=ledger.REVENUE_ENERGY,
            )
        ApportionmentShare.objects.create(
            run=run,
            unit=by_pk[share.key],
            account=account,
            basis=str(share.basis),
            fraction=str(share.fraction),
            energy=share.amount,
            amount=amount,
            entry=entry,
        )
        if account is not None:
            supply.evaluate_supply(account, actor=actor)
    return run


@transaction.atomic
def do_run_apportionment(
    *, public_group: PublicMeterGroup, start: date, end: date, actor: Any
) -> ApportionmentRun:
    """Apportion one period of a public meter group (公摊); re-running the period changes nothing."""
    group = locked(PublicMeterGroup, public_group.pk)
    _require(actor, "billing.run", group.site)
    if end <= start:
        raise ActionError("bad_period", _("The period must end after it starts."))
    run = run_apportionment(group, start, end, actor=actor)
    _audit(actor, "billing.apportion", group, group.site, period=f"{start}–{end}", energy=run.total_energy)
    return run
