"""Helpers every action uses: locking, validation errors, master-data saves with audit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event, snapshot
from prepay.common.compiled import CompiledQuery
from prepay.common.errors import ActionError, NotFound
from prepay.tenancy.scoping import Reach, reach, reach_q, require

M = TypeVar("M", bound=models.Model)


def does_not_exist(model: type[models.Model]) -> NotFound:
    """The ``not_found`` refusal for a row of ``model`` looked up by key that is not there."""
    return NotFound("not_found", _("%(what)s does not exist.") % {"what": model._meta.verbose_name})


def locked(model: type[M], pk: Any, *related: str) -> M:
    """Re-read a row under ``SELECT … FOR UPDATE`` inside the current transaction; ``related`` rows
    (``select_related`` paths) come in the same query without being locked themselves."""
    rows = model._default_manager.select_for_update(of=("self",) if related else ())
    try:
        return rows.select_related(*related).get(pk=pk) if related else rows.get(pk=pk)
    except model.DoesNotExist:  # type: ignore[attr-defined]
        raise does_not_exist(model) from None


def found(rows: models.QuerySet[M]) -> M:
    """The first of ``rows`` (a lookup the caller may see); ``not_found`` when there is none, the same
    answer for a row that does not exist and one the caller may not see, so nothing leaks."""
    row = rows.first()
    if row is None:
        raise _not_found(rows.model)
    return row


def _not_found(model: type[models.Model]) -> NotFound:
    """:func:`found`'s refusal: the same for a row that does not exist and one the caller may not see."""
    return NotFound("not_found", _("%(what)s not found.") % {"what": model._meta.verbose_name})


@dataclass(frozen=True)
class Visible(Generic[M]):
    """The row of ``model`` with key ``pk`` if ``user`` may see it (``tenancy.scoping.scope_q``), not
    read yet: an action reads it under its lock (:func:`locked_one`), with ``related`` rows."""

    model: type[M]
    user: Any
    pk: int
    related: tuple[str, ...] = ()


def locked_one(rows: models.QuerySet[M] | Visible[M], *related: str) -> M:
    """The one row of ``rows`` (a lookup the caller may see: a scoped queryset, or :class:`Visible`)
    read under ``SELECT … FOR UPDATE`` in one query, as :func:`locked` reads it by key (``found``).
    A :class:`Visible` row is read by a query compiled once per process (``common.compiled``)."""
    if isinstance(rows, models.QuerySet):
        return found(rows.select_for_update(of=("self",)).select_related(*related))
    r = reach(rows.user, "view")
    got = _LOCKED_VISIBLE.rows(
        {"model": rows.model._meta.label, "related": (*rows.related, *related), "everything": r.all},
        pk=rows.pk,
        groups=tuple(sorted(r.group_ids)),
        sites=tuple(sorted(r.site_ids)),
        site_groups=tuple(sorted(r.site_group_ids)),
    )
    if not got:
        raise _not_found(rows.model)
    return got[0]  # type: ignore[no-any-return]


def _locked_visible(
    *,
    model: str,
    related: tuple[str, ...],
    everything: bool,
    pk: int,
    groups: tuple[int, ...],
    sites: tuple[int, ...],
    site_groups: tuple[int, ...],
) -> models.QuerySet[Any]:
    """What :func:`locked_one` reads for a :class:`Visible` row, from its caller's reach."""
    m = apps.get_model(model)
    seen = Reach(everything, frozenset(groups), frozenset(sites), frozenset(site_groups))
    rows = m._default_manager.filter(reach_q(seen, m, "view"), pk=pk)
    rows = rows.select_for_update(of=("self",)).select_related(*related)
    return (rows if rows.ordered else rows.order_by("pk"))[:1]  # as found()'s first() would


_LOCKED_VISIBLE = CompiledQuery("common.locked_visible", _locked_visible)


def scope_of(obj: models.Model) -> tuple[int | None, int | None]:
    """(group_id, site_id) of a scoped row, following its ``scope_group`` / ``scope_site`` paths."""

    def follow(path: str | None) -> int | None:
        if path is None:
            return None
        if path == "pk":
            return obj.pk  # type: ignore[no-any-return]
        value: Any = obj
        for part in path.split("__"):
            if value is None:
                return None
            value = getattr(value, part)
        return value.pk if isinstance(value, models.Model) else value

    return follow(obj.scope_group), follow(obj.scope_site)  # type: ignore[attr-defined]


def validation_error(exc: ValidationError) -> ActionError:
    """Turn Django's ValidationError into an ActionError listing every problem."""
    if hasattr(exc, "error_dict"):
        parts = [f"{field}: {' '.join(str(m) for m in msgs)}" for field, msgs in exc.message_dict.items()]
    else:
        parts = [str(m) for m in exc.messages]
    return ActionError("invalid", "; ".join(parts))


def full_clean(obj: models.Model, exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise validation_error(exc) from None


@transaction.atomic
def do_save_record(obj: M, *, actor: Any, capability: str = "masterdata.change") -> M:
    """Create or update a master-data row (admin pages, imports), validated and audited.

    The actor must hold ``capability`` where the row lives — before and after the change, so a
    row cannot be moved into (or out of) a site the actor does not manage.
    """
    before = None
    if obj.pk is not None:
        old = obj.__class__._default_manager.select_for_update().filter(pk=obj.pk).first()
        if old is not None:
            g, s = scope_of(old)
            require(actor, capability, group_id=g, site_id=s)
            before = snapshot(old)
    g, s = scope_of(obj)
    require(actor, capability, group_id=g, site_id=s)
    full_clean(obj)
    obj.save()
    record_event(
        actor=actor,
        verb=f"{obj._meta.model_name}.{'update' if before else 'create'}",
        obj=obj,
        group_id=g,
        site_id=s,
        before=before,
        after=snapshot(obj),
    )
    return obj


@transaction.atomic
def do_delete_record(obj: models.Model, *, actor: Any, capability: str = "masterdata.change") -> None:
    """Delete a master-data row that nothing refers to (PROTECT keeps referenced rows), audited."""
    g, s = scope_of(obj)
    require(actor, capability, group_id=g, site_id=s)
    before = snapshot(obj)
    label, pk, text = obj._meta.model_name, str(obj.pk), str(obj)
    try:
        obj.delete()
    except models.ProtectedError:
        raise ActionError("in_use", _("%(obj)s is in use and cannot be deleted.") % {"obj": text}) from None
    record_event(
        actor=actor,
        verb=f"{label}.delete",
        object_type=label,
        object_id=pk,
        object_repr=text,
        group_id=g,
        site_id=s,
        before=before,
    )
