"""Warnings and cut-off for one account: gather the facts, run the pure rule
(:mod:`prepay.domain.warnings`), then record notifications, queue relay commands and audit cuts.

Everything here runs inside the caller's transaction, under the account's row lock, so the state,
the notification and the relay command are recorded together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from prepay.audit.actions import record_event
from prepay.billing import lookups
from prepay.billing.models import BillingSettings, LevelUnit, ProtectedSupply, SupplyState, WarningPolicy
from prepay.common.actions import locked
from prepay.common.errors import ActionError
from prepay.customers.choices import AccountMode, AccountStatus, BillingMode
from prepay.customers.models import Account
from prepay.domain import warnings as rule
from prepay.meters.models import Installation, Meter
from prepay.notify.actions import queue_notification
from prepay.telemetry.models import CommandKind, MeterCommand
from prepay.vending import ledger
from prepay.vending.models import LedgerEntry

DEFAULTS = rule.Thresholds(level1=Decimal("20.00"), level2=Decimal("5.00"), overdraft=Decimal("0.00"))


def site_settings(site_id: int) -> BillingSettings:
    """The site's billing settings (defaults when none are stored; not saved). Memoised in a run."""

    def compute() -> BillingSettings:
        return BillingSettings.objects.filter(site_id=site_id).first() or BillingSettings(site_id=site_id)

    return lookups.cached(("settings", site_id), compute)  # type: ignore[no-any-return]


def settings_of(account: Account) -> BillingSettings:
    """The account's site's billing settings: the ones read with the account (a sale locks it with
    ``site__billing_settings``; the defaults when the site has none), else :func:`site_settings`."""
    site = account.site
    relation = type(site).billing_settings.related  # type: ignore[attr-defined]
    if relation.is_cached(site):
        return relation.get_cached_value(site) or BillingSettings(site_id=site.pk)  # type: ignore[no-any-return,return-value]
    return site_settings(account.site_id)


def _policy_q(account: Account) -> Q:
    """Every policy that may apply to ``account`` (a superset: :func:`_applies` decides)."""
    return (
        Q(account=account)
        | Q(account__isnull=True, site_id=account.site_id)
        | Q(account__isnull=True, site__isnull=True, group_id=account.site.group_id)
    )


def _applies(p: WarningPolicy, account: Account, kind: str | None) -> bool:
    if p.account_id is not None:
        return p.account_id == account.pk
    if p.customer_type_id is not None and p.customer_type_id != account.customer.customer_type_id:
        return False
    if p.meter_kind and p.meter_kind != kind:
        return False
    return p.site_id == account.site_id or (p.site_id is None and p.group_id == account.site.group_id)


def _rank(p: WarningPolicy) -> tuple[bool, bool, bool, bool]:
    """Most specific first: the account's; at the site before group-wide; type and kind, type, kind."""
    typed, kinded = p.customer_type_id is not None, bool(p.meter_kind)
    return (p.account_id is None, p.site_id is None, not (typed and kinded), not typed)


def meter_kind_of(account: Account) -> str | None:
    """The kind of the account's installed meter (its first relay meter, else its first meter)."""
    rows = list(
        Installation.objects.filter(account=account, ended_at__isnull=True)
        .order_by("-meter__model__has_relay", "pk")
        .values_list("meter__model__kind", flat=True)[:1]
    )
    return rows[0] if rows else None


def _in_money(account: Account, p: WarningPolicy, now: datetime | None) -> rule.Thresholds | None:
    """An energy policy's levels in money at the account's tariff today (None: they cannot be priced)."""
    from prepay.domain.tariffs import cycle_bounds

    today = timezone.localdate(now or timezone.now())
    try:
        _row, tariff = lookups.tariff_for(account, today)
    except lookups.TariffMissing:
        return None
    used, quota = lookups.cycle_usage(account, cycle_bounds(tariff.cycle, today)[0])
    holidays, workdays = lookups.tou_calendar(account)
    try:
        return rule.energy_thresholds(
            Decimal(p.level1),
            Decimal(p.level2),
            p.overdraft,
            tariff,
            day=today,
            used_in_cycle=used,
            quota_used=quota,
            holidays=holidays,
            workdays=workdays,
        )
    except rule.WarningError:
        return None


def thresholds(
    account: Account,
    policies: list[WarningPolicy] | None = None,
    *,
    kind: str | None = None,
    now: datetime | None = None,
) -> rule.Thresholds:
    """The money levels of ``account``: its most specific applying policy (see ``WarningPolicy``),
    else the site's billing settings. An energy policy is priced now (:func:`_in_money`); one that
    cannot be priced (no tariff in force, a free tariff) gives way to the next policy.

    ``policies``: candidates preloaded for several accounts (those not applying are ignored);
    ``kind``: the account's meter kind when known (read when a candidate names one)."""
    if policies is None:
        policies = list(WarningPolicy.objects.filter(_policy_q(account)))
    if kind is None and any(p.meter_kind for p in policies):
        kind = meter_kind_of(account)
    for p in sorted((p for p in policies if _applies(p, account, kind)), key=_rank):
        if p.unit != LevelUnit.ENERGY:
            return rule.Thresholds(level1=p.level1, level2=p.level2, overdraft=p.overdraft)
        if (money := _in_money(account, p, now)) is not None:
            return money
    s = settings_of(account)
    return rule.Thresholds(level1=s.level1, level2=s.level2, overdraft=s.overdraft)


def protected_now(account: Account, now: datetime) -> ProtectedSupply | None:
    return (
        ProtectedSupply.objects.filter(
            account=account, starts_at__lte=now, ends_at__gt=now, cancelled_at__isnull=True
        )
        .order_by("-ends_at")
        .first()
    )


def relay_meters(account: Account) -> list[Meter]:
    """Meters with a relay (or valve) currently installed for the account."""
    return [
        i.meter
        for i in Installation.objects.filter(account=account, ended_at__isnull=True)
        .select_related("meter__model")
        .order_by("pk")
        if i.meter.model.has_relay
    ]


def queue_relay(
    account: Account, kind: str, *, reason: str, key: str, actor: Any, networked_only: bool = False
) -> list[MeterCommand]:
    """Queue a trip / close command on each of the account's relay meters (idempotent by ``key``).

    The command is the system's (``actor=None`` for :func:`do_queue_command`): it carries out the
    warning rule, whoever's action triggered it (a cashier's vend must close the relay even though
    cashiers may not send relay commands themselves). The person is in the billing audit event.
    A meter that cannot take commands (faulty, retired) is skipped; its supply state stays recorded.
    ``networked_only``: skip meters without a protocol (a keypad meter would never receive it).
    """
    from prepay.telemetry.actions import do_queue_command

    out = []
    for meter in relay_meters(account):
        if networked_only and not meter.protocol:
            continue
        try:
            out.append(
                do_queue_command(
                    meter, kind, actor=None, reason=reason[:200], idempotency_key=f"{key}:{meter.pk}"[:80]
                )
            )
        except ActionError:
            continue
    return out


def _state(account: Account) -> SupplyState:
    return SupplyState.objects.select_for_update().get_or_create(account=account)[0]


def _to_domain(s: SupplyState) -> rule.SupplyState:
    return rule.SupplyState(
        level=rule.Level(s.level), reminder_done=s.reminder_done, cut=s.cut, suppressed=s.suppressed
    )


def overdue_facts(account: Account, today: Any, grace_days: int) -> tuple[bool, bool]:
    from datetime import timedelta

    from prepay.billing.models import Bill

    unpaid = Bill.objects.filter(account=account, settled_at__isnull=True, due_date__lt=today)
    overdue = unpaid.exists()
    past = unpaid.filter(due_date__lt=today - timedelta(days=grace_days)).exists()
    return overdue, past


_TEMPLATE = {rule.Level.LEVEL1: "level1", rule.Level.LEVEL2: "level2", rule.Level.ZERO: "zero"}


def _facts(account: Account, settings_: BillingSettings, balance: Decimal, now: datetime) -> rule.Facts:
    """What the rule decides on: the balance, and for a postpaid remote account its overdue bills;
    for a local-control account the fee arrears; and whether a protection is in force ``now``."""
    if account.mode == AccountMode.REMOTE:
        postpaid = account.billing == BillingMode.POSTPAID
        overdue = past = False
        if postpaid:
            overdue, past = overdue_facts(account, timezone.localdate(now), settings_.overdue_cut_days)
        facts = rule.Facts(balance=balance, postpaid=postpaid, overdue=overdue, overdue_past_grace=past)
    else:  # the site cuts local-control meters for fee arrears
        facts = rule.Facts(balance=balance, fee_arrears=balance < 0, fees_only=True)
    prot = protected_now(account, now)
    return rule.Facts(**{**facts.__dict__, "protected": prot is not None})


def _notify(
    account: Account, decision: rule.Decision, facts: rule.Facts, limits: rule.Thresholds, balance: Decimal
) -> None:
    """Queue the warnings the decision asks for, once per level and ledger position."""
    seq = (
        LedgerEntry.objects.filter(account=account).order_by("-seq").values_list("seq", flat=True).first()
        or 0
    )
    for level in decision.notify:
        key = "overdue" if facts.postpaid or facts.fee_arrears else _TEMPLATE[level]
        threshold = {rule.Level.LEVEL1: limits.level1, rule.Level.LEVEL2: limits.level2}.get(
            level, limits.cutoff
        )
        queue_notification(
            account,
            key,
            {"balance": balance, "threshold": threshold, "arrears": max(-balance, Decimal("0.00"))},
            idempotency_key=f"warn:{account.pk}:{level.value}:{seq}",
        )


def _switch_relay(
    account: Account, state: SupplyState, decision: rule.Decision, balance: Decimal, actor: Any
) -> None:
    """Queue the trip or close the decision asks for on the relay meters and audit it."""
    state.commands += 1
    kind = CommandKind.TRIP if decision.trip else CommandKind.CLOSE
    queue_relay(
        account,
        kind,
        reason=f"billing:{decision.reason}",
        key=f"supply:{account.pk}:{state.commands}",
        actor=actor,
    )
    record_event(
        actor=actor,
        verb=f"supply.{'trip' if decision.trip else 'close'}",
        obj=account,
        group_id=account.site.group_id,
        site_id=account.site_id,
        after={"reason": decision.reason, "balance": str(balance), "level": decision.state.level.value},
    )


def _store_state(state: SupplyState, decision: rule.Decision) -> None:
    """Save the decision's new supply state when it changed or a relay command was counted."""
    new = decision.state
    if (
        (new.level.value, new.reminder_done, new.cut, new.suppressed)
        != (
            state.level,
            state.reminder_done,
            state.cut,
            state.suppressed,
        )
        or decision.trip
        or decision.close
    ):
        state.level, state.reminder_done, state.cut, state.suppressed = (
            new.level.value,
            new.reminder_done,
            new.cut,
            new.suppressed,
        )
        state.save()


def evaluate_supply(
    account: Account, *, actor: Any = None, now: datetime | None = None
) -> rule.Decision | None:
    """Apply the warning rule to the account now; returns the decision (None if not applicable).

    Applies to remote-control accounts (prepaid by balance, postpaid by overdue bills) and to
    local-control accounts at sites that cut on fee arrears. Caller holds the account lock.
    """
    now = now or timezone.now()
    if account.status != AccountStatus.OPEN:
        return None
    settings_ = settings_of(account)
    if account.mode != AccountMode.REMOTE and not settings_.cut_on_fee_arrears:
        return None  # a local-control meter cuts itself off; the site doesn't cut for fees
    balance = ledger.balance_of(account)
    facts = _facts(account, settings_, balance, now)
    limits = thresholds(account, now=now)
    state = _state(account)
    decision = rule.evaluate(_to_domain(state), facts, limits)
    _notify(account, decision, facts, limits, balance)
    if decision.trip or decision.close:
        _switch_relay(account, state, decision, balance, actor)
    _store_state(state, decision)
    return decision


def accounts_to_watch(site_id: int | None = None) -> Any:
    """Accounts the warning rule may act on without a new charge (overdue bills, protections ending)."""
    qs = Account.objects.filter(status=AccountStatus.OPEN).filter(
        Q(mode=AccountMode.REMOTE) | Q(site__billing_settings__cut_on_fee_arrears=True)
    )
    return qs if site_id is None else qs.filter(site_id=site_id)


def evaluate_many(accounts: list[Account], balances: dict[int, Decimal], *, actor: Any = None) -> None:
    """:func:`evaluate_supply` for many locked prepaid remote accounts with a few queries: the rule is
    run on preloaded facts, and only accounts where it has something to do (notify, trip, close, a
    state change) go through :func:`evaluate_supply` to write it. ``balances``: known balances (the
    last posting's ``balance_after``); the others are read."""
    now = timezone.now()
    if not accounts:
        return
    states = {s.account_id: s for s in SupplyState.objects.filter(account__in=accounts)}
    protected = set(
        ProtectedSupply.objects.filter(
            account__in=accounts, starts_at__lte=now, ends_at__gt=now, cancelled_at__isnull=True
        ).values_list("account_id", flat=True)
    )
    # a superset of every account's _policy_q in three terms (one OR term per account made the query
    # slow to build for a batch); thresholds() keeps only the policies that apply to each account
    policies = list(
        WarningPolicy.objects.filter(
            Q(account__in=accounts)
            | Q(account__isnull=True, site_id__in={a.site_id for a in accounts})
            | Q(account__isnull=True, site__isnull=True, group_id__in={a.site.group_id for a in accounts})
        )
    )
    kinds: dict[int, str] = {}
    if any(p.meter_kind for p in policies):  # one query for the batch's meter kinds
        for aid, kind in (
            Installation.objects.filter(account__in=accounts, ended_at__isnull=True)
            .order_by("account_id", "-meter__model__has_relay", "pk")
            .values_list("account_id", "meter__model__kind")
        ):
            kinds.setdefault(aid, kind)
    for acc in accounts:
        if acc.billing == BillingMode.POSTPAID or acc.pk in protected or acc.mode != AccountMode.REMOTE:
            evaluate_supply(acc, actor=actor, now=now)
            continue
        balance = balances[acc.pk] if acc.pk in balances else ledger.balance_of(acc)
        stored = states.get(acc.pk)
        state = _to_domain(stored) if stored is not None else rule.SupplyState()
        limits = thresholds(acc, policies, kind=kinds.get(acc.pk), now=now)
        decision = rule.evaluate(state, rule.Facts(balance=balance), limits)
        if decision.notify or decision.trip or decision.close or decision.state != state:
            evaluate_supply(acc, actor=actor, now=now)


# ---- protected supply on the meters ------------------------------------------------------------------------


def keep_power_on(protection: ProtectedSupply, now: datetime) -> list[MeterCommand]:
    """The window has begun: tell the account's networked relay meters to keep power (a local-control
    meter would otherwise cut itself at zero credit). Once per protection; the caller holds the
    account's lock."""
    if protection.keep_power_at is not None:
        return []
    commands = queue_relay(
        protection.account,
        CommandKind.KEEP_POWER,
        reason=f"protected supply #{protection.pk}: {protection.reason}",
        key=f"protect:{protection.pk}:on",
        actor=None,
        networked_only=True,
    )
    protection.keep_power_at = now
    protection.save(update_fields=["keep_power_at"])
    return commands


def keep_power_off(protection: ProtectedSupply, now: datetime) -> list[MeterCommand]:
    """The window is over (or ended early): release keep-power, unless another protection of the
    account is in force, which then keeps it. Once per protection; the caller holds the account's lock."""
    if protection.keep_power_at is None or protection.released_at is not None:
        return []
    still = (
        ProtectedSupply.objects.filter(
            account_id=protection.account_id, starts_at__lte=now, ends_at__gt=now, cancelled_at__isnull=True
        )
        .exclude(pk=protection.pk)
        .exists()
    )
    commands = []
    if not still:
        commands = queue_relay(
            protection.account,
            CommandKind.KEEP_POWER_OFF,
            reason=f"protected supply #{protection.pk} over",
            key=f"protect:{protection.pk}:off",
            actor=None,
            networked_only=True,
        )
    protection.released_at = now
    protection.save(update_fields=["released_at"])
    return commands


def sync_protections(now: datetime | None = None) -> dict[str, int]:
    """Daemon step: keep-power for windows that have begun, release for windows that are over.
    Each protection is handled under its account's lock, in its own transaction."""
    now = now or timezone.now()
    started = ProtectedSupply.objects.filter(
        starts_at__lte=now, ends_at__gt=now, cancelled_at__isnull=True, keep_power_at__isnull=True
    )
    over = ProtectedSupply.objects.filter(keep_power_at__isnull=False, released_at__isnull=True).filter(
        Q(ends_at__lte=now) | Q(cancelled_at__isnull=False)
    )
    out = {"keep_power": 0, "released": 0}
    for pk, account_id in list(started.values_list("pk", "account_id")):
        with transaction.atomic():
            prot = _locked_protection(pk, account_id)
            if prot.cancelled_at is None and prot.starts_at <= now < prot.ends_at:
                out["keep_power"] += bool(keep_power_on(prot, now))
    for pk, account_id in list(over.values_list("pk", "account_id")):
        with transaction.atomic():
            out["released"] += bool(keep_power_off(_locked_protection(pk, account_id), now))
    return out


def _locked_protection(pk: int, account_id: int) -> ProtectedSupply:
    """The protection under lock, its account's lock taken first (as the clerk's actions take them)."""
    locked(Account, account_id)
    return locked(ProtectedSupply, pk, "account")
