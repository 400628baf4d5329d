"""Vending (售电): find the account, price the purchase, take the money, deliver the credit.

One sale, in one transaction, locking account → meter → vending point (always in that order):

1. the payment is posted to the customer ledger (cash / bank / agent float on the other side);
   arrears and unpaid fees (a negative balance) are settled first by the site's recovery rule;
2. the credit bought is posted as a vend (revenue and VAT on the other side), priced by the account's
   tariff version in force with its tier position in the cycle;
3. the credit is delivered as the meter takes it: STS token(s), an IC-card image, a queued remote
   credit command, or — for remote fee control — it simply stays on the account balance;
4. a gap-free receipt number is taken from the vending point and an audit event is written.

Repeating a request with the same ``Idempotency-Key`` returns the first vend and moves no money; the
same key with a different request is refused. Reversals and refunds are in ``reversals.py``, shifts in
``shifts.py``; both are re-exported here. How credit reaches a meter (step 3) is in ``crediting.py``,
receipt numbers and the agent float in ``points.py``: adjustments, reversals and deliveries use them too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import batched, record_event
from prepay.common.actions import Visible, locked, locked_one
from prepay.common.amounts import parse_amount
from prepay.common.compiled import CompiledQuery
from prepay.common.errors import ActionError
from prepay.common.jsonrows import rows_from_json, rows_subquery
from prepay.customers.choices import AccountStatus, Utility
from prepay.customers.models import Account
from prepay.customers.search import (
    UnitKey,
    account_search_q,
    initials_q,
    matching_buildings,
    normalise,
    parse_unit,
)
from prepay.domain.money import money
from prepay.domain.tariffs import PurchaseError, TariffError, quote_energy, quote_money, register_units
from prepay.domain.typed import TypedError, ascii_text, plain_decimal
from prepay.domain.words import chinese_uppercase
from prepay.meters.choices import MeterStatus
from prepay.meters.models import Meter
from prepay.tariffs.engine import assignment_of, chosen_versions, tariff_for, versions_query
from prepay.tariffs.models import Tariff
from prepay.tenancy.scoping import require, require_any
from prepay.tokens.keystore import with_slot_key
from prepay.vending import ledger
from prepay.vending.crediting import active_meter, deliver_units, delivery_for
from prepay.vending.models import (
    AgentFloatEntry,
    Delivery,
    EntryKind,
    LedgerEntry,
    PaymentMethod,
    PointKind,
    Receipt,
    Shift,
    ShiftStatus,
    Vend,
    VendingPoint,
    VendStatus,
)
from prepay.vending.points import issue_receipt, lock_and_number, post_float
from prepay.vending.points import receipt_code as receipt_code  # one import path for callers
from prepay.vending.signals import account_credited
from prepay.vending.tiers import cycle_position

#: payment methods that must carry the bank's or channel's reference
NEEDS_REFERENCE = {PaymentMethod.TRANSFER, PaymentMethod.ONLINE}


# --------------------------------------------------------------------------------------------------
# finding the account


def find_accounts(user: Any, query: str, *, limit: int = 20) -> list[Account]:
    """Accounts the user may see matching ``query``, for the counter's search and the API.

    An exact account number, active meter serial or customer number (any case) answers alone; else
    accounts whose number, customer name, phone or active meter serial contain it, whose unit is the
    one it names the way residents say it (``1号楼 101``, ``1-101``, ``Block 1 101``, ``1栋101``,
    ``1幢1单元101``: ``prepay.customers.search``) or whose customer's name has it as pinyin initials
    (``zs`` for 张三). Closed accounts come last. Full-width digits and letters are read as ASCII.

    Each account carries ``meter_serial`` and ``balance`` (annotated: no query per account) and
    ``partial``: True when it matched only by part of its account number or meter serial — a
    counter lists such a match rather than opening it, as the typed text names no account whole.
    """
    query = ascii_text(query or "").strip()
    if not query:
        return []
    base = ledger.with_meter_and_balance(
        Account.objects.for_user(user).select_related("customer", "unit__building", "site")
    )
    exact = list(
        base.filter(
            Q(number__iexact=query)
            | Q(customer__number__iexact=query)
            | Q(installations__meter__serial__iexact=query, installations__ended_at__isnull=True)
        )
        .distinct()
        .order_by("number")[:limit]
    )
    if exact:
        for account in exact:
            setattr(account, "partial", False)  # noqa: B010  (an attribute the caller reads, not a field)
        return exact
    found = list(base.filter(account_search_q(user, query)).distinct().order_by("number")[: limit * 2])
    found.sort(key=lambda a: (a.status == AccountStatus.CLOSED, a.number))
    wanted = normalise(query)
    by_initials = initials_q(query) is not None
    said = parse_unit(query)
    for account in found[:limit]:
        whole = (
            wanted in normalise(account.customer.name)
            or query in account.customer.phone
            or (by_initials and f" {wanted}" in account.customer.name_initials)
        )
        serial = getattr(account, "meter_serial", None) or ""
        number_part = wanted in account.number.lower() or wanted in serial.lower()
        partial = number_part and not whole and not _names_unit(account, query, said)
        setattr(account, "partial", partial)  # noqa: B010
    return found[:limit]


def _names_unit(account: Account, query: str, said: UnitKey | None) -> bool:
    """True when ``query`` is the account's unit number, or names its unit the way residents say it
    (``said``: the query parsed once by ``parse_unit``, None when it does not read as a unit)."""
    unit = account.unit
    if query.lower() == unit.number.lower():
        return True
    if said is None:
        return False
    building = unit.building
    return bool(matching_buildings([(building.pk, building.code, building.name)], said)) and (
        unit.number.lower() in said.numbers()
    )


#: rows a sale reads with the account, in its lock query: the site and the customer type
SALE_RELATED = (
    "site__billing_settings",  # the site, and its billing rules for the warning rule after the sale
    "customer__customer_type",  # whose default tariffs (ids) ``tariffs.engine.assigned_versions`` follows
)


_SALE_MARKS = ("newest_seq", "newest_balance", "key_used", "tariff_versions")


def _sale_marks(account_id: int, key: str, assignment: dict[str, Any]) -> dict[str, Any]:
    """What :func:`_sale_state` reads beside the meter (:data:`_SALE_MARKS`), as subqueries."""
    newest = LedgerEntry.objects.filter(account_id=account_id).order_by("-seq")
    return {
        "newest_seq": Subquery(newest.values("seq")[:1]),
        "newest_balance": Subquery(newest.values("balance_after")[:1]),
        "key_used": Exists(Vend.objects.filter(idempotency_key=key)),
        "tariff_versions": rows_subquery(versions_query(**assignment), "by_site_default"),
    }


def _sale_state_query(*, own: bool, fallback: bool, account_id: int, key: str, **assignment: Any) -> Any:
    """The account's active meter under its row lock, with :func:`_sale_marks` (``own`` and
    ``fallback``: which parts of the tariff assignment ``assignment`` holds)."""
    rows = with_slot_key(Meter.objects.select_for_update(of=("self",)).select_related("model", "token_state"))
    meters = rows.filter(installations__account_id=account_id, installations__ended_at__isnull=True).annotate(
        **_sale_marks(account_id, key, assignment)
    )
    return (meters if meters.ordered else meters.order_by("pk"))[:1]  # as .first() would


#: the sale's state is the hottest query: compiled once per process (``prepay.common.compiled``)
_SALE_STATE = CompiledQuery("vending.sale_state", _sale_state_query)


@dataclass(frozen=True)
class _SaleState:
    """What a sale reads once the account is locked (:func:`_sale_state`)."""

    meter: Meter | None  # the active meter, under its row lock, with its model, token state and slot key
    last: tuple[int, Decimal]  # the account's newest ledger entry (seq, balance after); (0, 0): none yet
    key_used: bool  # a vend was already made with the sale's idempotency key
    versions: list[Tariff]  # the account's assigned tariff versions (tariffs.engine.assigned_versions)


def _sale_state(account: Account, key: str) -> _SaleState:
    """The account's active meter under the meter's row lock (with its model; its token state, which
    only a holder of the meter's lock changes: ``prepay.tokens.actions._state``; and the vending key of
    its key slot: ``prepay.tokens.keystore.with_slot_key``), its newest ledger entry, whether ``key``
    was used and the versions of its assigned tariff (``prepay.tariffs.engine.assigned_versions``, as
    one JSON array: ``prepay.common.jsonrows``), in one query (an account without a meter: one more,
    on the account).

    The caller holds the account's lock. Every writer of the account's entries and vends holds it too,
    so they committed before this statement began, and its subqueries see them even when it waits for
    the meter's lock (PostgreSQL evaluates them in the statement's snapshot). A vend made with the key
    for another account meanwhile is caught by the vend's unique key (``idempotency_conflict``)."""
    assignment = {k: v for k, v in assignment_of(account).items() if v is not None}
    shape = {"own": "tariff_id" in assignment, "fallback": "fallback_id" in assignment}
    found_meter = _SALE_STATE.rows(shape, account_id=account.pk, key=key, **assignment)
    meter = found_meter[0] if found_meter else None
    found = (
        {name: getattr(meter, name) for name in _SALE_MARKS}
        if meter is not None
        else Account.objects.filter(pk=account.pk).values(**_sale_marks(account.pk, key, assignment)).get()
    )
    last = (
        (found["newest_seq"], found["newest_balance"])
        if found["newest_seq"] is not None
        else (0, Decimal("0.00"))
    )
    versions = chosen_versions(rows_from_json(Tariff, found["tariff_versions"], "by_site_default"))
    return _SaleState(meter, last, bool(found["key_used"]), versions)


# --------------------------------------------------------------------------------------------------
# pricing


@dataclass(frozen=True)
class VendQuote:
    """What a purchase would do; ``do_vend`` carries out exactly this."""

    amount: Decimal  # money taken
    arrears_recovered: Decimal
    credit_amount: Decimal  # money that buys energy (or stays on a remote-control balance)
    energy: Decimal | None
    register_units: Decimal | None
    multiplier: int
    delivery: str
    unit: str
    balance_before: Decimal
    breakdown: dict[str, Any] = field(default_factory=dict)
    tariff_version: int | None = None  # the tariff row priced with (the counter's review carries it)
    #: the account's sales today, not reversed, when pricing read them (``check_sale_limits``)
    sold_today: Decimal | None = None

    def to_dict(self) -> dict[str, Any]:
        def s(v: Decimal | None) -> str | None:
            return None if v is None else str(v)

        return {
            "amount": str(self.amount),
            "arrears_recovered": str(self.arrears_recovered),
            "credit_amount": str(self.credit_amount),
            "energy": s(self.energy),
            "register_units": s(self.register_units),
            "multiplier": self.multiplier,
            "delivery": self.delivery,
            "unit": self.unit,
            "balance_before": str(self.balance_before),
            "breakdown": self.breakdown,
        }


def _recovery(arrears: Decimal, share_base: Decimal, percent: int, *, of_total: bool) -> Decimal:
    """Money of a payment that settles arrears: ``percent`` of the payment (``of_total``: the payment
    is ``share_base``) or, buying energy, the arrears share added on top of ``share_base``."""
    if arrears <= 0:
        return Decimal("0.00")
    if percent >= 100:
        return arrears if not of_total else min(arrears, share_base)
    # buying energy, the energy costs share_base and the payment is share_base / (1 - p)
    part = share_base * percent / 100 if of_total else share_base * percent / (100 - percent)
    return min(arrears, money(part.quantize(Decimal("0.01"), rounding=ROUND_CEILING)))


def _price(
    account: Account,
    meter: Meter | None,
    *,
    amount: Any = None,
    energy: Any = None,
    on_date: date,
    last: tuple[int, Decimal] | None = None,
    tariff_version: object = None,
    versions: list[Tariff] | None = None,
) -> tuple[VendQuote, Any]:
    """The quote and tariff row of a purchase; ``last`` is the account's ``ledger.last_of`` and
    ``versions`` its assigned tariff versions when the caller has just read them; ``tariff_version``:
    the version a quote was made with (``prepay.tariffs.engine.tariff_for``), else the version in
    force on ``on_date``."""
    say = _refusal_words(account.utility)
    if (amount is None) == (energy is None):
        raise ActionError("amount_or_energy", say["amount_or_energy"])
    if account.status != AccountStatus.OPEN:
        raise ActionError("account_closed", _("Account %(a)s is closed.") % {"a": account.number})
    if meter is not None and meter.status in (MeterStatus.FAULTY, MeterStatus.RETIRED):
        raise ActionError(
            "meter_unusable",
            say["meter_unusable"] % {"m": meter.serial, "s": MeterStatus(meter.status).label},
        )
    delivery = delivery_for(account, meter)
    balance = last[1] if last is not None else ledger.balance_of(account)
    arrears = -balance if balance < 0 else Decimal("0.00")
    percent = account.site.arrears_recovery_percent
    multiplier = meter.multiplier if meter is not None else 1
    unit = "m3" if account.utility == Utility.WATER else "kWh"
    row, tariff = tariff_for(account, on_date, version=tariff_version, versions=versions)

    if delivery == Delivery.BALANCE:
        if energy is not None:
            raise ActionError("energy_not_for_balance", say["energy_not_for_balance"])
        paid = parse_amount(amount, _("The amount"), places=2)
        if tariff.min_purchase is not None and paid < tariff.min_purchase:
            raise ActionError(
                "below_minimum", _("The minimum purchase is %(m)s.") % {"m": tariff.min_purchase}
            )
        if tariff.max_purchase is not None and paid > tariff.max_purchase:
            raise ActionError(
                "above_maximum", _("The maximum purchase is %(m)s.") % {"m": tariff.max_purchase}
            )
        recovered = _recovery(arrears, paid, percent, of_total=True)
        q = VendQuote(
            paid, recovered, paid - recovered, None, None, multiplier, delivery, unit, balance, {}, row.pk
        )
        return q, row

    used, quota_used, sold_today = cycle_position(account, tariff, on_date, since=day_start(on_date))
    paid, recovered, credit, quote = _energy_quote(
        tariff, amount, energy, arrears=arrears, percent=percent, position=(used, quota_used), say=say
    )
    if quote.energy <= 0:
        raise ActionError("too_small_for_any_energy", say["too_small_for_any_energy"])
    units = register_units(quote.energy, meter.ct_ratio, meter.pt_ratio) if meter is not None else None
    # money that buys energy is the quote's total; a sub-step remainder stays on the account balance
    breakdown = quote.to_dict()
    q = VendQuote(
        paid,
        recovered,
        credit,
        quote.energy,
        units,
        multiplier,
        delivery,
        unit,
        balance,
        breakdown,
        row.pk,
        sold_today,
    )
    return q, row


def _energy_quote(
    tariff: Any,
    amount: Any,
    energy: Any,
    *,
    arrears: Decimal,
    percent: int,
    position: tuple[Decimal, Decimal],
    say: dict[str, str],
) -> tuple[Decimal, Decimal, Decimal, Any]:
    """(money paid, arrears recovered, money buying energy, engine quote) of a purchase of
    ``amount`` money or ``energy`` at the cycle ``position`` (tier energy, quota used)."""
    used, quota_used = position
    try:
        if amount is not None:
            paid = parse_amount(amount, _("The amount"), places=2)
            recovered = _recovery(arrears, paid, percent, of_total=True)
            credit = paid - recovered
            if credit <= 0:
                raise ActionError("all_to_arrears", say["all_to_arrears"] % {"a": arrears})
            return (
                paid,
                recovered,
                credit,
                quote_money(tariff, credit, used_in_cycle=used, quota_used=quota_used),
            )
        wanted = parse_amount(energy, say["the_energy"], places=3)
        quote = quote_energy(tariff, wanted, used_in_cycle=used, quota_used=quota_used)
        recovered = _recovery(arrears, quote.total, percent, of_total=False)
        return quote.total + recovered, recovered, quote.total, quote
    except PurchaseError as exc:
        raise ActionError(exc.code, _purchase_message(exc, say)) from None
    except TariffError as exc:
        raise ActionError("invalid_amount", str(exc)) from None


def _refusal_words(utility: str) -> dict[str, str]:
    """The sale's refusals that name what is bought: a water account's speak of water."""
    if utility == Utility.WATER:
        return {
            "amount_or_energy": _("Give either an amount of money or an amount of water."),
            "meter_unusable": _("Water meter %(m)s is %(s)s; replace it before selling."),
            "energy_not_for_balance": _(
                "Remote fee control accounts are topped up with money; their water is billed as used."
            ),
            "all_to_arrears": _("The whole payment settles arrears of %(a)s; nothing is left to buy water."),
            "the_energy": _("The water volume"),
            "too_small_for_any_energy": _("The amount is too small to buy any water."),
        }
    return {
        "amount_or_energy": _("Give either an amount of money or an amount of energy."),
        "meter_unusable": _("Meter %(m)s is %(s)s; replace it before selling."),
        "energy_not_for_balance": _(
            "Remote fee control accounts are topped up with money; their energy is billed as used."
        ),
        "all_to_arrears": _("The whole payment settles arrears of %(a)s; nothing is left to buy energy."),
        "the_energy": _("The energy"),
        "too_small_for_any_energy": _("The amount is too small to buy any energy."),
    }


def _purchase_message(exc: PurchaseError, say: dict[str, str]) -> str:
    params = {k: str(v) for k, v in exc.params.items()}
    messages = {
        "below_minimum": _("The amount is below the tariff's minimum purchase."),
        "above_maximum": _("The amount is above the tariff's maximum purchase."),
        "not_positive": _("The amount must be a positive number."),
        "not_a_number": _("The amount is not a number."),
        "too_many_places": _("The amount has too many decimal places."),
        "fixed_charges_not_covered": _("The amount does not cover the tariff's fixed charges."),
        "too_small_for_any_energy": say["too_small_for_any_energy"],
    }
    text = messages.get(exc.code, str(exc))
    limit = params.get("minimum") or params.get("maximum")
    return f"{text} ({limit})" if limit else text


def day_start(on_date: date) -> datetime:
    """Local midnight starting ``on_date`` (the daily limit's day)."""
    return datetime.combine(on_date, time.min, tzinfo=timezone.get_current_timezone())


def check_sale_limits(account: Account, amount: Decimal, *, sold_today: Decimal | None = None) -> None:
    """Refuse (``amount_too_large``) a sale of ``amount`` above the site's largest single sale, or
    one that takes the account's sales today (reversed sales not counted) above the daily maximum.
    ``sold_today``: those sales' money when pricing has read it (``VendQuote.sold_today``)."""
    site = account.site
    if amount > site.max_sale_amount:
        raise ActionError(
            "amount_too_large",
            _(
                "%(a)s is more than the largest sale allowed at %(s)s (%(m)s). Check the amount; "
                "an administrator sets this limit."
            )
            % {"a": amount, "s": site.name, "m": site.max_sale_amount},
        )
    bought = sold_today
    if bought is None:
        today = Vend.objects.filter(account=account, created_at__gte=day_start(timezone.localdate()))
        bought = today.exclude(status=VendStatus.REVERSED).aggregate(total=Sum("amount"))["total"]
        bought = bought or Decimal("0.00")
    if bought + amount > site.max_daily_amount:
        raise ActionError(
            "amount_too_large",
            _(
                "Account %(n)s has bought %(b)s today; one account may buy at most %(m)s a day at "
                "%(s)s, so %(left)s more at most."
            )
            % {
                "n": account.number,
                "b": bought,
                "m": site.max_daily_amount,
                "s": site.name,
                "left": max(site.max_daily_amount - bought, Decimal("0.00")),
            },
        )


def quote_vend(*, account: Account, actor: Any, amount: Any = None, energy: Any = None) -> VendQuote:
    """Price a purchase without selling it (the counter's live breakdown, the API's quote); a
    purchase over the site's sale limits is refused here as it would be at the sale."""
    require(actor, "view", group_id=account.site.group_id, site_id=account.site_id)
    q, _row = _price(
        account, active_meter(account), amount=amount, energy=energy, on_date=timezone.localdate()
    )
    check_sale_limits(account, q.amount, sold_today=q.sold_today)
    return q


# --------------------------------------------------------------------------------------------------
# selling


def _canonical(value: Any) -> str:
    """``50``, ``"50.0"`` and ``Decimal("50.00")`` are the same request."""
    if value is None:
        return ""
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except Exception:  # not a number: the sale refuses it anyway
        return str(value)


def _request_hash(account: Account, point: VendingPoint, amount: Any, energy: Any, method: str) -> str:
    text = f"{account.pk}|{point.pk}|{_canonical(amount)}|{_canonical(energy)}|{method}"
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(idempotency_key: str, request_hash: str, actor: Any) -> Vend | None:
    """The vend first made with this key (the actor must still be allowed to sell there), else None.
    A vend returned here has ``replayed = True``."""
    found = (
        Vend.objects.filter(idempotency_key=idempotency_key)
        .values_list("pk", "request_hash", "account__site__group_id", "account__site_id")
        .first()
    )
    if found is None:
        return None
    pk, stored_hash, group_id, site_id = found
    require(actor, "vend.sell", group_id=group_id, site_id=site_id)
    if stored_hash != request_hash:
        raise ActionError(
            "idempotency_conflict", _("This idempotency key was already used for a different request.")
        )
    existing = Vend.objects.get(pk=pk)
    existing.replayed = True
    return existing


def current_shift(user: Any) -> Shift | None:
    """The user's open shift, if any."""
    if not getattr(user, "pk", None):
        return None
    return Shift.objects.filter(cashier=user, status=ShiftStatus.OPEN).select_related("point").first()


def _check_point(point: VendingPoint, account: Account, actor: Any, shift: Shift | None) -> Shift | None:
    if not point.active:
        raise ActionError("point_inactive", _("Vending point %(p)s is not active.") % {"p": point.name})
    if point.site.group_id != account.site.group_id:
        raise ActionError("wrong_site", _("This vending point belongs to another group."))
    if point.kind == PointKind.COUNTER and point.site_id != account.site_id:
        raise ActionError(
            "wrong_site", _("Counter %(p)s sells only to accounts of its own site.") % {"p": point.name}
        )
    if point.kind == PointKind.COUNTER:
        shift = shift or current_shift(actor)
        if (
            shift is None
            or shift.status != ShiftStatus.OPEN
            or shift.cashier_id != getattr(actor, "pk", None)
        ):
            raise ActionError("no_open_shift", _("Open a shift before selling."))
        if shift.point_id != point.pk:
            raise ActionError("wrong_point", _("Your open shift is at another vending point."))
        return shift
    return None


@dataclass(frozen=True)
class _SaleRequest:
    """A sale as ``do_vend`` was asked for it, with what it checked before the account's lock."""

    actor: Any
    point: VendingPoint
    key: str
    request_hash: str
    amount: Any
    energy: Any
    method: str
    reference: str
    shift: Shift | None
    channel: str
    confirmation: tuple[Any] | None = None
    tariff_version: object = None
    tendered: Decimal | None = None


@transaction.atomic
def do_vend(
    *,
    account: Account | QuerySet[Account] | Visible[Account],
    actor: Any,
    point: VendingPoint,
    idempotency_key: str,
    amount: Any = None,
    energy: Any = None,
    method: str = PaymentMethod.CASH,
    reference: str = "",
    shift: Shift | None = None,
    channel: str = "",
    confirm_large: bool = False,
    confirmed_amount: Any = None,
    tariff_version: object = None,
    tendered: Any = None,
) -> Vend:
    """Sell credit to ``account`` at ``point`` (see the module docstring). Returns the vend; a repeat
    of ``idempotency_key`` returns the first vend unchanged. ``tendered``: the cash the customer
    handed over (收款, cash sales only, at least the amount: ``tendered_short`` / ``tendered_not_cash``
    otherwise), kept on the vend for the change (找零) on the review and the receipt. With ``confirm_large`` (the counter), a
    sale above the site's ``confirm_sale_above`` needs ``confirmed_amount``: the money typed a second
    time, equal to the amount taken (``confirmation_required`` otherwise). ``tariff_version``: the
    tariff row the sale was quoted with (the counter's review); it prices the sale if it is still good
    (``prepay.tariffs.engine.tariff_for``: ``tariff_version_changed`` otherwise), else the version in
    force today does. ``account`` may be a lookup (the API's: the accounts the caller may see): it is
    read once, under the account's lock, ``not_found`` when it names none."""
    key = (idempotency_key or "").strip()
    if not key or len(key) > 80:
        raise ActionError(
            "idempotency_key_required", _("Every sale needs an idempotency key (1–80 characters).")
        )
    if method not in PaymentMethod.values:
        raise ActionError("invalid_method", _("Unknown payment method %(m)s.") % {"m": method})
    reference = (reference or "").strip()[:80]
    if method in NEEDS_REFERENCE and not reference:
        raise ActionError("reference_required", _("A transfer or online payment needs its reference."))
    cash = parse_tendered(tendered, method)
    # The account's lock orders concurrent retries of one key: the second finds the first's vend.
    if isinstance(account, Account):
        account = locked(Account, account.pk, *SALE_RELATED)
    else:  # a lookup the caller may see (the API): read once, under the lock
        account = locked_one(account, *SALE_RELATED)
    request_hash = _request_hash(account, point, amount, energy, method)
    state = _sale_state(account, key)
    if state.key_used and (first := _replay(key, request_hash, actor)) is not None:
        return first
    site = account.site
    require(actor, "vend.sell", group_id=site.group_id, site_id=site.pk)
    # The chain's head is locked once, for the sale's events together, at the end (audit.batched).
    with batched():
        return _sell(
            account,
            state,
            _SaleRequest(
                actor=actor,
                point=point,
                key=key,
                request_hash=request_hash,
                amount=amount,
                energy=energy,
                method=method,
                reference=reference,
                shift=shift,
                channel=channel,
                confirmation=(confirmed_amount,) if confirm_large else None,
                tariff_version=tariff_version,
                tendered=cash,
            ),
        )


def parse_tendered(tendered: Any, method: str) -> Decimal | None:
    """The cash tendered as money, or None when none was typed; refused for a sale not paid in cash
    (``tendered_not_cash``) or when it is not a plain amount (``invalid_tendered``)."""
    if tendered is None or str(tendered).strip() == "":
        return None
    if method != PaymentMethod.CASH:
        raise ActionError("tendered_not_cash", _("Only a cash sale takes the money tendered."))
    try:
        return parse_amount(tendered, _("The money tendered"), places=2)
    except ActionError as exc:
        raise ActionError("invalid_tendered", exc.message) from None


def check_tendered(amount: Decimal, tendered: Decimal | None) -> None:
    """Refuse (``tendered_short``) cash tendered below the amount of the sale."""
    if tendered is not None and tendered < amount:
        raise ActionError(
            "tendered_short",
            _("The customer handed over ¥%(t)s, less than the ¥%(a)s to pay: take ¥%(d)s more.")
            % {"t": tendered, "a": amount, "d": amount - tendered},
        )


def _check_confirmation(account: Account, amount: Decimal, confirmation: tuple[Any] | None) -> None:
    """A large sale at the counter is confirmed by typing its amount again (see ``do_vend``)."""
    site = account.site
    if confirmation is None or amount <= site.confirm_sale_above:
        return
    typed = confirmation[0]
    try:
        same = typed not in (None, "") and plain_decimal(typed, 2) == amount
    except TypedError:
        same = False
    if not same:
        raise ActionError(
            "confirmation_required",
            _("%(a)s (%(w)s) is above %(t)s: type the amount again to confirm the sale.")
            % {"a": amount, "w": chinese_uppercase(amount), "t": site.confirm_sale_above},
        )


def _sell(account: Account, state: _SaleState, sale: _SaleRequest) -> Vend:
    """``do_vend`` once the account is locked, its state read, the key proved new and the actor
    allowed to sell: price and check the sale, write the vend, post its money, issue its receipt,
    deliver the credit and record the audit event."""
    meter, last_entry = state.meter, state.last
    today = timezone.localdate()
    q, tariff_row = _price(
        account,
        meter,
        amount=sale.amount,
        energy=sale.energy,
        on_date=today,
        last=last_entry,
        tariff_version=sale.tariff_version,
        versions=state.versions,
    )
    check_sale_limits(account, q.amount, sold_today=q.sold_today)
    _check_confirmation(account, q.amount, sale.confirmation)
    check_tendered(q.amount, sale.tendered)
    # the vend's receipt number is taken here, and an agent's float drawn (refused below if over)
    point = lock_and_number(sale.point.pk, draw=q.amount)
    if point.site_id == account.site_id:
        point.site = account.site  # else read when first needed (an agent of another site)
    shift = _check_point(point, account, sale.actor, sale.shift)
    _check_float(point, q.amount)
    vend = _new_vend(account, meter, point, shift, q, tariff_row, sale)
    payment = _post_sale(account, point, vend, q, sale, last=last_entry)
    receipt = vend.issued_receipt = issue_receipt(point, vend.receipt_no, sale.actor, vend=vend)
    if q.delivery != Delivery.BALANCE and meter is not None:
        deliver_units(
            meter,
            q.register_units or Decimal(0),
            q.delivery,
            actor=sale.actor,
            utility=account.utility,
            reason=f"vend {vend.receipt_no}",
            idempotency_key=f"vend:{vend.pk}",
            today=today,
            vend=vend,
            seller_checked=True,
        )
    account_credited.send(sender=Vend, account=account, entry=payment)
    _audit_sale(account, meter, point, vend, receipt, q, sale)
    return vend


def _check_float(point: VendingPoint, amount: Decimal) -> None:
    """Refuse (``agent_over_limit``) a sale whose ``amount``, drawn on the agent's float by
    ``lock_and_number`` (``point.float_balance`` is the balance after it), takes the float past its
    credit limit; the refusal rolls the draw back."""
    if point.uses_float and point.float_balance < -point.credit_limit:
        raise ActionError(
            "agent_over_limit",
            _("Agent %(p)s has %(f)s left on its float and a credit limit of %(l)s; %(a)s is over it.")
            % {"p": point.name, "f": point.float_balance + amount, "l": point.credit_limit, "a": amount},
        )


def _new_vend(
    account: Account,
    meter: Meter | None,
    point: VendingPoint,
    shift: Shift | None,
    q: VendQuote,
    tariff_row: Any,
    sale: _SaleRequest,
) -> Vend:
    """Write the vend as priced, under the point's next receipt number; refused
    (``idempotency_conflict``) when its key was taken meanwhile by a different request."""
    vend = Vend(
        account=account,
        meter=meter if q.delivery != Delivery.BALANCE else None,
        point=point,
        shift=shift,
        method=sale.method,
        reference=sale.reference,
        amount=q.amount,
        tendered=sale.tendered,
        arrears_recovered=q.arrears_recovered,
        credit_amount=q.credit_amount,
        energy=q.energy,
        register_units=q.register_units if q.delivery != Delivery.BALANCE else None,
        multiplier=q.multiplier,
        tariff=tariff_row,
        breakdown=q.breakdown,
        delivery=q.delivery,
        idempotency_key=sale.key,
        request_hash=sale.request_hash,
        channel=sale.channel[:40],
        created_by=sale.actor if getattr(sale.actor, "pk", None) else None,
    )
    vend.receipt_no = receipt_code(point, point.receipt_counter)  # lock_and_number took it
    try:
        # no savepoint: the error ends the sale, and its transaction rolls back with it
        with transaction.atomic(savepoint=False):
            vend.save()
    except IntegrityError:
        raise ActionError(
            "idempotency_conflict", _("This idempotency key was already used for a different request.")
        ) from None
    return vend


def _post_sale(
    account: Account,
    point: VendingPoint,
    vend: Vend,
    q: VendQuote,
    sale: _SaleRequest,
    *,
    last: tuple[int, Decimal],
) -> LedgerEntry:
    """Post the sale's money: the payment (cash, or the agent's float, on the other side), the
    agent's float entry (``lock_and_number`` drew the float), and the energy bought unless the credit
    stays on the balance. ``last``: the account's newest entry, read under its lock.
    Returns the payment entry; the vend keeps the balance after the sale (``Vend.balance_after``)."""
    actor, key = sale.actor, sale.key
    postings = [
        ledger.Posting(
            EntryKind.PAYMENT,
            q.amount,
            book=ledger.AGENT_FLOAT if point.uses_float else ledger.CASH,
            point=point,
            method=sale.method,
            idempotency_key=f"{key}:pay",
            memo=_("Payment at %(p)s") % {"p": point.name},
        )
    ]
    if q.delivery != Delivery.BALANCE:
        postings.append(
            ledger.Posting(
                EntryKind.VEND,
                -Decimal(q.breakdown["total"]),
                energy=q.energy,
                tax=Decimal(q.breakdown["vat_amount"]),
                idempotency_key=f"{key}:vend",
                memo=(_("Water %(e)s %(u)s") if account.utility == Utility.WATER else _("Energy %(e)s %(u)s"))
                % {"e": q.energy, "u": q.unit},
            )
        )
    # the vend's key was proved new under the account's lock, so its entries' keys are new too
    entries = ledger.post_fresh(account, postings, actor=actor, last=last)
    if point.uses_float:
        post_float(
            point,
            -q.amount,
            actor=actor,
            memo=_("Vend to %(a)s") % {"a": account.number},
            vend=vend,
            moved=True,
        )
    vend.balance_after = entries[-1].balance_after
    return entries[0]


def _audit_sale(
    account: Account,
    meter: Meter | None,
    point: VendingPoint,
    vend: Vend,
    receipt: Receipt,
    q: VendQuote,
    sale: _SaleRequest,
) -> None:
    """Record the sale's audit event: what was paid, how, and what went to the meter."""
    site = account.site
    tendered = sale.tendered
    record_event(
        actor=sale.actor,
        verb="vend.sell",
        obj=vend,
        group_id=site.group_id,
        site_id=site.pk,
        after={
            "receipt": receipt.code,
            "account": account.number,
            "meter": meter.serial if meter else None,
            "point": point.code,
            "method": sale.method,
            "amount": str(q.amount),
            **(
                {"tendered": str(tendered), "change": str(tendered - q.amount)}
                if tendered is not None
                else {}
            ),
            "arrears_recovered": str(q.arrears_recovered),
            "energy": str(q.energy) if q.energy is not None else None,
            "register_units": str(q.register_units) if q.register_units is not None else None,
            "delivery": q.delivery,
        },
    )


# --------------------------------------------------------------------------------------------------
# re-print, re-issue, agent float


def _require_seller_or_clerk(actor: Any, site: Any) -> None:
    require_any(actor, ("vend.sell", "account.lifecycle"), group_id=site.group_id, site_id=site.pk)


@transaction.atomic
def do_reprint_receipt(*, receipt: Receipt, actor: Any) -> Receipt:
    """Count one more print of ``receipt`` (the copy says REPRINT); audited, nothing regenerated."""
    receipt = locked(Receipt, receipt.pk)
    site = receipt.point.site
    _require_seller_or_clerk(actor, site)
    receipt.prints += 1
    receipt.save(update_fields=["prints"])
    record_event(
        actor=actor,
        verb="receipt.reprint",
        obj=receipt,
        group_id=site.group_id,
        site_id=site.pk,
        after={"receipt": receipt.code, "prints": receipt.prints},
    )
    return receipt


@transaction.atomic
def do_reissue_token(*, vend: Vend, actor: Any) -> list[Any]:
    """A lost token: give the customer the same token(s) again — same digits, same TID, never new ones
    (a new TID would load the credit twice)."""
    from prepay.tokens.actions import do_reprint_token

    vend = locked(Vend, vend.pk)
    site = vend.account.site
    _require_seller_or_clerk(actor, site)
    tokens = list(vend.tokens.order_by("pk"))
    if not tokens:
        raise ActionError("no_token", _("This vend was not delivered as a token."))
    return [do_reprint_token(token=t, actor=actor) for t in tokens]


@transaction.atomic
def do_topup_float(*, point: VendingPoint, amount: Any, actor: Any, idempotency_key: str) -> AgentFloatEntry:
    """An agent pays in advance: its float grows by ``amount`` (cash received on the other side)."""
    key = (idempotency_key or "").strip()
    if not key:
        raise ActionError("idempotency_key_required", _("A float top-up needs an idempotency key."))
    existing = AgentFloatEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if existing.point_id != point.pk or existing.amount != parse_amount(
            amount, _("The amount"), places=2
        ):
            raise ActionError(
                "idempotency_conflict", _("This idempotency key was already used for a different request.")
            )
        return existing
    point = locked(VendingPoint, point.pk)
    site = point.site
    require(actor, "reversal.approve", group_id=site.group_id, site_id=site.pk)
    if not point.uses_float:
        raise ActionError("no_float", _("Vending point %(p)s does not draw on a float.") % {"p": point.name})
    value = parse_amount(amount, _("The amount"), places=2)
    entry = post_float(point, value, actor=actor, memo=_("Float top-up"), idempotency_key=key)
    from prepay.vending.journal import record_float_topup

    record_float_topup(point, value)
    record_event(
        actor=actor,
        verb="float.topup",
        obj=point,
        group_id=site.group_id,
        site_id=site.pk,
        after={"amount": str(value), "balance": str(entry.balance_after)},
    )
    return entry


from prepay.vending.adjustments import (  # noqa: E402  (re-exported: one import path for callers)
    do_approve_adjustment,
    do_reject_adjustment,
    do_request_adjustment,
)
from prepay.vending.reversals import (  # noqa: E402
    do_approve_reversal,
    do_reject_reversal,
    do_request_refund,
    do_request_reversal,
)
from prepay.vending.shifts import do_close_shift, do_open_shift, shift_summary  # noqa: E402

__all__ = [
    "VendQuote",
    "do_approve_adjustment",
    "do_reject_adjustment",
    "do_request_adjustment",
    "current_shift",
    "do_approve_reversal",
    "do_close_shift",
    "do_open_shift",
    "do_reissue_token",
    "do_reject_reversal",
    "do_reprint_receipt",
    "do_request_refund",
    "do_request_reversal",
    "do_topup_float",
    "do_vend",
    "find_accounts",
    "quote_vend",
    "shift_summary",
]
