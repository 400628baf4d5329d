"""Bridge between tariff rows and the pure engine: which version applies to an account, and where the
account stands in its tier cycle.

The pricing itself is ``prepay.domain.tariffs`` (pure); this module only reads the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, Subquery, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.common.errors import ActionError
from prepay.customers.choices import Utility
from prepay.domain.tariffs import Tariff as EngineTariff
from prepay.domain.tariffs import TariffError, select_version
from prepay.tariffs.models import Tariff


def engine_tariff(row: Tariff) -> EngineTariff:
    """The pure engine's tariff for a stored row (columns win over the definition)."""
    try:
        return EngineTariff.from_record(
            kind=row.kind,
            unit_price=row.unit_price,
            definition=row.definition,
            utility=row.utility,
            vat_rate=row.vat_rate,
            vat_included=row.vat_included,
        )
    except TariffError as exc:
        raise ActionError(
            "tariff_invalid", _("Tariff %(t)s is misconfigured: %(e)s") % {"t": row.code, "e": exc}
        ) from None


def versions_of(row: Tariff) -> list[Tariff]:
    """Every version of ``row``'s tariff code: same group, the same site or group-wide."""
    return list(Tariff.objects.filter(_versions_filter(row)))


def _versions_filter(row: Tariff) -> Q:
    return Q(group_id=row.group_id, code=row.code) & (Q(site_id=row.site_id) | Q(site__isnull=True))


def _versions_of_rows(rows: QuerySet[Any]) -> Q:
    """:func:`_versions_filter` of the tariff row ``rows`` gives (at most one), without reading it:
    its group, code and site come from subqueries in the same statement (unordered: the row is named
    by id, and the model's ordering would join the group and sort in each of them)."""
    rows = rows.order_by()
    return Q(group_id=Subquery(rows.values("group_id")[:1]), code=Subquery(rows.values("code")[:1])) & (
        Q(site_id=Subquery(rows.values("site_id")[:1])) | Q(site__isnull=True)
    )


def version_in_force(row: Tariff, on_date: date) -> Tariff:
    """The version of ``row``'s tariff code in force on ``on_date``."""
    return _in_force(versions_of(row), on_date)


def _in_force(versions: list[Tariff], on_date: date) -> Tariff:
    try:
        return select_version(versions, on_date)
    except TariffError as exc:
        raise ActionError("no_tariff_in_force", str(exc)) from None


def assigned_tariff(account: Any) -> Tariff | None:
    """The account's own tariff, else its customer type's default at its site, else the customer
    type's group-wide default for the account's utility (``resolve_assignment`` order)."""
    from prepay.tariffs.models import SiteTariff

    if account.tariff is not None:
        return account.tariff  # type: ignore[no-any-return]
    site_default = (
        SiteTariff.objects.filter(
            site_id=account.site_id,
            customer_type_id=account.customer.customer_type_id,
            utility=account.utility,
        )
        .select_related("tariff")
        .first()
    )
    return (site_default.tariff if site_default else None) or account.effective_tariff()


def assigned_versions(account: Any) -> list[Tariff]:
    """Every version of the account's assigned tariff code (``assigned_tariff``, then ``versions_of``;
    empty when no tariff is assigned), in one query (:func:`assigned_versions_query`)."""
    return chosen_versions(list(assigned_versions_query(account)))


def assignment_of(account: Any) -> dict[str, Any]:
    """What names the account's assigned tariff, as :func:`versions_query` takes it: its own tariff,
    else its site, customer type and utility, and the customer type's default for that utility
    (``fallback_id``; None: none)."""
    if account.tariff_id is not None:
        return {"tariff_id": account.tariff_id}
    ct = account.customer.customer_type
    fallback_id = (
        ct.default_water_tariff_id if account.utility == Utility.WATER else ct.default_electricity_tariff_id
    )
    return {
        "site_id": account.site_id,
        "customer_type_id": ct.pk,
        "utility": account.utility,
        "fallback_id": fallback_id,
    }


def assigned_versions_query(account: Any) -> QuerySet[Tariff]:
    """The rows :func:`chosen_versions` takes the account's versions from (:func:`versions_query`)."""
    return versions_query(**assignment_of(account))


def versions_query(
    *,
    tariff_id: int | None = None,
    site_id: int | None = None,
    customer_type_id: int | None = None,
    utility: str | None = None,
    fallback_id: int | None = None,
) -> QuerySet[Tariff]:
    """The rows :func:`chosen_versions` takes an account's versions from (:func:`assignment_of` names
    them), read without reading any tariff row first: the account's own tariff, the site's default
    for the account's customer type and the customer type's own default are named by id and followed
    by subqueries. The versions of the site's default and of the customer type's are read together,
    each row marked (``by_site_default``) with whether it came through the site's default."""
    from prepay.tariffs.models import SiteTariff

    if tariff_id is not None:
        own = _versions_of_rows(Tariff.objects.filter(pk=tariff_id))
        return Tariff.objects.filter(own).annotate(by_site_default=Value(False, output_field=BooleanField()))
    chosen = SiteTariff.objects.filter(
        site_id=site_id, customer_type_id=customer_type_id, utility=utility
    )  # at most one row (site_tariff_unique)
    by_default = _versions_of_rows(Tariff.objects.filter(pk=Subquery(chosen.values("tariff_id")[:1])))
    wanted = by_default
    if fallback_id is not None:  # the customer type's default
        wanted |= _versions_of_rows(Tariff.objects.filter(pk=fallback_id))
    return Tariff.objects.filter(wanted).annotate(
        by_site_default=ExpressionWrapper(by_default, output_field=BooleanField())
    )


def chosen_versions(rows: list[Tariff]) -> list[Tariff]:
    """The account's versions among :func:`assigned_versions_query`'s rows: the site default's tariff
    is always one of its versions, so no row marked ``by_site_default`` means the site has none and
    the customer type's default applies."""
    return [r for r in rows if r.by_site_default] or [r for r in rows if not r.by_site_default]  # type: ignore[attr-defined]


#: how long a quote's tariff version stays good for the sale that follows it (the counter's review
#: screen): a sale confirmed within this time of a new version taking effect keeps the quoted one
QUOTE_GRACE = timedelta(minutes=10)


def tariff_for(
    account: Any,
    on_date: date,
    *,
    version: object = None,
    now: datetime | None = None,
    versions: list[Tariff] | None = None,
) -> tuple[Tariff, EngineTariff]:
    """The tariff row and engine tariff that price ``account``'s energy on ``on_date``: see
    ``assigned_tariff``, in the version of that tariff code in force that day.

    ``version`` (a tariff row id, e.g. carried by the counter's review form) asks for the version a
    quote was made with: it must be a version of the account's assigned tariff that is in force now
    or was in force ``QUOTE_GRACE`` before ``now`` (default: the current time), else ActionError
    ``tariff_version_changed`` (quote again) — so a sale confirmed just after midnight keeps the
    version its review showed, and an old version's id cannot sell at an old price. ``versions``:
    ``assigned_versions(account)`` when the caller has read them (a sale reads them with its meter)."""
    if versions is None:
        versions = assigned_versions(account)
    if not versions:
        raise ActionError(
            "no_tariff",
            _("No tariff is assigned to account %(a)s or its customer type.") % {"a": account.number},
        )
    if version is None or version == "":
        row = _in_force(versions, on_date)
    else:
        row = _quoted_version(versions, version, now or timezone.now())
    return row, engine_tariff(row)


def _quoted_version(versions: list[Tariff], version: object, now: datetime) -> Tariff:
    """The version ``version`` among ``versions`` (of the assigned tariff's code) if it is still good
    for a sale (``tariff_for``)."""
    changed = ActionError(
        "tariff_version_changed",
        _("The tariff changed since this sale was priced; review the new price and confirm again."),
    )
    try:
        wanted = int(str(version))
    except ValueError:
        raise changed from None
    good = set()
    for instant in (now, now - QUOTE_GRACE):
        try:
            good.add(select_version(versions, timezone.localdate(instant)).pk)
        except TariffError:
            continue
    if wanted not in good:
        raise changed
    return next(v for v in versions if v.pk == wanted)


def calendar(group_id: int) -> tuple[frozenset[date], frozenset[date]]:
    """(holidays, make-up workdays) of the group's time-of-use calendar (``CalendarDay``)."""
    from prepay.tariffs.models import CalendarDay, DayKind

    holidays: set[date] = set()
    workdays: set[date] = set()
    for day, kind in CalendarDay.objects.filter(group_id=group_id).values_list("day", "kind"):
        (holidays if kind == DayKind.HOLIDAY else workdays).add(day)
    return frozenset(holidays), frozenset(workdays)


#: what prices with tariff versions (registered by the apps above: vending's sales, billing's
#: charges): name → a function of version ids giving (rows priced, the last local date priced or None)
PricedBy = Callable[[list[int]], tuple[int, date | None]]
PRICERS: dict[str, PricedBy] = {}


def register_pricer(name: str, priced_by: PricedBy) -> None:
    """Called from an app's ``ready``: ``name`` (``sales``, ``charges``) prices with tariff versions."""
    PRICERS[name] = priced_by


def usage(row: Tariff) -> tuple[int, int]:
    """(sales, charges) priced by this tariff version: a version with either is kept as it is."""
    return PRICERS["sales"]([row.pk])[0], PRICERS["charges"]([row.pk])[0]


def last_priced_on(row: Tariff) -> date | None:
    """The last local date on which any version of ``row``'s code priced a sale or a charge (a new
    version must take effect after it, so what was priced keeps its version), None when never."""
    ids = [v.pk for v in versions_of(row)]
    days = [day for priced_by in PRICERS.values() if (day := priced_by(ids)[1]) is not None]
    return max(days) if days else None
