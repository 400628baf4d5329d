"""Tariff writes: create a tariff, change a version nothing has been priced with, or add a version that
takes effect from a date. Each parses the tariff with the engine's own parser first, so a row the
engine would refuse is never stored, and writes its audit event in the same transaction.

A version that has priced a sale or a charge is never changed: receipts, reversals and re-billing
read it. A change of price is a new version of the same code (``do_new_tariff_version``), in force
from its ``effective_from`` until the next version's; it must take effect after the last day any
version of the code priced something, so what was priced keeps the version it was priced with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event, snapshot
from prepay.common.actions import full_clean, locked
from prepay.common.errors import ActionError
from prepay.domain.tariffs import Tariff as EngineTariff
from prepay.domain.tariffs import TariffError
from prepay.tariffs import engine
from prepay.tariffs.messages import tariff_error_text
from prepay.tariffs.models import Tariff
from prepay.tariffs.signals import version_added
from prepay.tenancy.scoping import require

CAPABILITY = "masterdata.change"


@dataclass(frozen=True)
class TariffDraft:
    """What the editor built: the model's columns and the ``definition`` JSON, not yet stored.

    ``group_id`` / ``site_id`` / ``code`` are only read when a tariff is created; a version keeps
    its code's."""

    group_id: int
    site_id: int | None
    code: str
    name: str
    utility: str
    kind: str
    unit_price: Decimal
    vat_rate: Decimal
    vat_included: bool
    definition: dict[str, Any]
    effective_from: date

    def engine(self) -> EngineTariff:
        """The engine's tariff for this draft, parsed as ``prepay.tariffs.engine.engine_tariff`` parses
        a stored row (raises ``TariffError``)."""
        return EngineTariff.from_record(
            kind=self.kind,
            unit_price=self.unit_price,
            definition=self.definition,
            utility=self.utility,
            vat_rate=self.vat_rate,
            vat_included=self.vat_included,
        )

    def apply(self, row: Tariff) -> None:
        """Copy the priced fields (not group, site or code) onto ``row``."""
        for name in ("name", "utility", "kind", "unit_price", "vat_rate", "vat_included", "definition"):
            setattr(row, name, getattr(self, name))
        row.effective_from = self.effective_from


def _parsed(draft: TariffDraft) -> None:
    try:
        draft.engine()
    except TariffError as exc:
        where = f"{exc.field}: " if exc.field else ""
        raise ActionError(
            "tariff_invalid", _("The tariff is not valid: %(e)s") % {"e": where + tariff_error_text(exc)}
        ) from None


def _check_start(row: Tariff, effective_from: date, *, exclude_pk: int | None = None) -> None:
    """A version of ``row``'s code may start on ``effective_from``: no other version starts that day,
    and no sale or charge of the code was priced on or after it."""
    taken = Tariff.objects.filter(group_id=row.group_id, code=row.code, effective_from=effective_from)
    if taken.exclude(pk=exclude_pk).exists():
        raise ActionError(
            "version_exists",
            _("A version of tariff %(c)s already takes effect on %(d)s; open that version instead.")
            % {"c": row.code, "d": date_format(effective_from)},
        )
    last = engine.last_priced_on(row)
    if last is not None and effective_from <= last:
        raise ActionError(
            "effective_too_early",
            _(
                "Tariff %(c)s priced sales or charges until %(d)s; a change must take effect after that "
                "day, so they keep the version they were priced with."
            )
            % {"c": row.code, "d": date_format(last)},
        )


def _audit(actor: Any, verb: str, row: Tariff, before: dict[str, Any] | None) -> None:
    record_event(
        actor=actor,
        verb=verb,
        obj=row,
        group_id=row.group_id,
        site_id=row.site_id,
        before=before,
        after=snapshot(row),
    )


@transaction.atomic
def do_create_tariff(*, draft: TariffDraft, actor: Any) -> Tariff:
    """Create the first version of a new tariff code. Refused: a code the group already has (open it
    and save a new version instead), a tariff the engine would refuse, no right where it lives."""
    require(actor, CAPABILITY, group_id=draft.group_id, site_id=draft.site_id)
    if Tariff.objects.filter(group_id=draft.group_id, code=draft.code).exists():
        raise ActionError(
            "code_exists",
            _("Tariff %(c)s exists; open it and save a new version from a date instead.") % {"c": draft.code},
        )
    _parsed(draft)
    row = Tariff(group_id=draft.group_id, site_id=draft.site_id, code=draft.code)
    draft.apply(row)
    full_clean(row)
    row.save()
    _audit(actor, "tariff.create", row, None)
    return row


@transaction.atomic
def do_change_tariff(*, row: Tariff, draft: TariffDraft, actor: Any) -> Tariff:
    """Change a version in place — only one that has priced nothing (``tariff_in_use`` otherwise: save
    a new version). A new ``effective_from`` follows ``do_new_tariff_version``'s rule."""
    row = locked(Tariff, row.pk)
    require(actor, CAPABILITY, group_id=row.group_id, site_id=row.site_id)
    sales, charges = engine.usage(row)
    if sales or charges:
        raise ActionError(
            "tariff_in_use",
            _(
                "This version priced %(s)s sales and %(c)s charges and is kept as it is; save the change "
                "as a new version from a date."
            )
            % {"s": sales, "c": charges},
        )
    _parsed(draft)
    if draft.effective_from != row.effective_from:
        _check_start(row, draft.effective_from, exclude_pk=row.pk)
    before = snapshot(row)
    draft.apply(row)
    full_clean(row)
    row.save()
    _audit(actor, "tariff.update", row, before)
    return row


@transaction.atomic
def do_new_tariff_version(*, base: Tariff, draft: TariffDraft, actor: Any) -> Tariff:
    """Add a version of ``base``'s code (same group, site and code) priced as ``draft``, in force from
    ``draft.effective_from``. Refused: a day another version starts, a day on or before the last
    sale or charge of the code, a tariff the engine would refuse. The per-person tier basis
    (billing) carries over to the new version."""
    base = locked(Tariff, base.pk)
    require(actor, CAPABILITY, group_id=base.group_id, site_id=base.site_id)
    _parsed(draft)
    _check_start(base, draft.effective_from)
    if draft.effective_from < timezone.localdate() and engine.last_priced_on(base) is not None:
        raise ActionError("effective_too_early", _("A new version cannot take effect in the past."))
    row = Tariff(group_id=base.group_id, site_id=base.site_id, code=base.code)
    draft.apply(row)
    full_clean(row)
    row.save()
    after = snapshot(row)
    version_added.send(sender=Tariff, base=base, row=row, after=after)  # billing: the tier basis
    record_event(
        actor=actor,
        verb="tariff.version",
        obj=row,
        group_id=row.group_id,
        site_id=row.site_id,
        before=snapshot(base),
        after=after,
    )
    return row
