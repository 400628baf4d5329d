"""Writes of the ten-day reconciliation: recording money handed over (上缴) and finance's sign-off.

Both lock the site's row first, so a handover and a sign-off of the same site never cross, and write
their audit event in the same transaction. Both need ``billing.run`` (finance or admin) on the site.

**The lock.** Once a period is signed off its sheet cannot change: a handover for it is refused
(``period_signed_off``), and a reversal approved afterwards counts in the period it is approved in —
the next one — where the sheet lists it with the reversals of sales from earlier periods (docs/reports.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event
from prepay.common.actions import locked
from prepay.common.amounts import parse_amount
from prepay.common.errors import ActionError
from prepay.domain.reporting import Period
from prepay.reconciliation.models import Handover, SignOff
from prepay.tenancy.models import Site
from prepay.tenancy.scoping import require
from prepay.vending.models import PaymentMethod, Shift, ShiftStatus

CAPABILITY = "billing.run"


def _audit(actor: Any, verb: str, obj: Any, site: Site, **after: Any) -> None:
    record_event(actor=actor, verb=verb, obj=obj, group_id=site.group_id, site_id=site.pk, after=after)


def _period(period_start: Any) -> Period:
    """The ten-day period starting on ``period_start`` (a date or ``YYYY-MM-DD``), else refused."""
    from prepay.reports.reconciliation import period_of

    day = _day(
        period_start, "invalid_period", _("Choose a ten-day period (starting on the 1st, 11th or 21st).")
    )
    period = period_of(day)
    if period is None:
        raise ActionError("invalid_period", _("Choose a ten-day period (starting on the 1st, 11th or 21st)."))
    return period


def _day(value: Any, code: str, message: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ActionError(code, message) from None


def _signed_off(site: Site, period: Period) -> SignOff | None:
    return SignOff.objects.filter(site=site, period_start=period.start).select_related("signed_by").first()


def _text(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


@transaction.atomic
def do_record_handover(
    *,
    site: Site,
    period_start: Any,
    deposited_on: Any,
    amount: Any,
    reference: str,
    handed_over_by: str,
    actor: Any,
    method: str = PaymentMethod.CASH,
    note: str = "",
) -> Handover:
    """Record money the site's team handed over (deposited at the bank) for the ten-day period
    starting ``period_start``. Refused: another role or site (``forbidden``), not a ten-day period
    (``invalid_period``), a period not begun (``future_period``), a date that is not one
    (``invalid_date``), in the future (``future_date``) or before the period (``date_before_period``),
    an amount that is not positive money (``invalid_amount``), an unknown method (``invalid_method``),
    no bank reference (``reference_required``) or one already recorded at the site
    (``duplicate_reference``), nobody named (``who_required``), a signed-off period
    (``period_signed_off``)."""
    site = locked(Site, site.pk)
    require(actor, CAPABILITY, group_id=site.group_id, site_id=site.pk)
    period = _period(period_start)
    today = timezone.localdate()
    if period.start > today:
        raise ActionError("future_period", _("This period has not begun yet."))
    day = _day(deposited_on, "invalid_date", _("Enter the date of the deposit as YYYY-MM-DD."))
    if day > today:
        raise ActionError("future_date", _("The deposit date is in the future."))
    if day < period.start:
        raise ActionError("date_before_period", _("The deposit date is before the period it hands over."))
    value = parse_amount(amount, _("The amount"), places=2)
    if method not in PaymentMethod.values:
        raise ActionError("invalid_method", _("Unknown payment method %(m)s.") % {"m": method})
    ref = _text(reference, 80)
    if not ref:
        raise ActionError("reference_required", _("Give the bank's reference of the deposit."))
    who = _text(handed_over_by, 100)
    if not who:
        raise ActionError("who_required", _("Say who handed the money over."))
    if (done := _signed_off(site, period)) is not None:
        raise ActionError(
            "period_signed_off",
            _("%(start)s – %(end)s was signed off by %(who)s on %(when)s; it takes no more handovers.")
            % _signed_params(period, done),
        )
    try:
        with transaction.atomic():
            handover = Handover.objects.create(
                site=site,
                period_start=period.start,
                deposited_on=day,
                method=method,
                amount=value,
                reference=ref,
                handed_over_by=who,
                note=_text(note, 200),
                recorded_by=actor,
            )
    except IntegrityError:
        raise ActionError(
            "duplicate_reference",
            _("A handover with the reference %(r)s is already recorded here.") % {"r": ref},
        ) from None
    _audit(
        actor,
        "reconciliation.handover",
        handover,
        site,
        period=period.start.isoformat(),
        deposited_on=day.isoformat(),
        method=method,
        amount=str(value),
        reference=ref,
        handed_over_by=who,
    )
    return handover


def _signed_params(period: Period, done: SignOff) -> dict[str, str]:
    return {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "who": str(done.signed_by.get_full_name() or done.signed_by.get_username()),
        "when": timezone.localtime(done.signed_at).strftime("%Y-%m-%d %H:%M"),
    }


@transaction.atomic
def do_sign_off_reconciliation(*, site: Site, period_start: Any, actor: Any, note: str = "") -> SignOff:
    """Finance signs off the site's sheet for the ten-day period starting ``period_start``, keeping its
    figures; the period is locked from then on. Refused: another role or site (``forbidden``), not a
    ten-day period (``invalid_period``), a period not over (``period_not_over``), signed off already
    (``already_signed_off``), a shift at the site's counters opened by the period's end still open
    (``shift_open``), a difference without a note saying why (``note_required``)."""
    from prepay.reports.reconciliation import reconciliation_sheet

    site = locked(Site, site.pk)
    require(actor, CAPABILITY, group_id=site.group_id, site_id=site.pk)
    period = _period(period_start)
    if period.end >= timezone.localdate():
        raise ActionError(
            "period_not_over",
            _("A period is signed off once it is over (after %(end)s).") % {"end": period.end.isoformat()},
        )
    if (done := _signed_off(site, period)) is not None:
        raise ActionError(
            "already_signed_off",
            _("%(start)s – %(end)s was signed off by %(who)s on %(when)s.") % _signed_params(period, done),
        )
    from prepay.reports.sales import day_bounds

    _start, end = day_bounds(period)
    open_shift = (
        Shift.objects.filter(point__site=site, status=ShiftStatus.OPEN, opened_at__lt=end)
        .select_related("point", "cashier")
        .first()
    )
    if open_shift is not None:
        raise ActionError(
            "shift_open",
            _("%(who)s's shift at %(point)s is still open: it must be closed (cashed up) before signing off.")
            % {"who": open_shift.cashier.get_username(), "point": open_shift.point.name},
        )
    sheet = reconciliation_sheet(site, period)
    note = _text(note, 200)
    if not sheet.balanced and not note:
        raise ActionError("note_required", _("The handover differs from the takings: say why in the note."))
    sign_off = SignOff.objects.create(
        site=site,
        period_start=period.start,
        period_end=period.end,
        figures=sheet.figures(),
        note=note,
        signed_by=actor,
        signed_at=timezone.now(),
    )
    _audit(
        actor,
        "reconciliation.sign_off",
        sign_off,
        site,
        period=f"{period.start.isoformat()}/{period.end.isoformat()}",
        note=note,
        **sheet.figures(),
    )
    return sign_off
