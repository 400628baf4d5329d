"""What charging and the warning rule both read about an account: its tariff version in force, the
group's time-of-use calendar and the cycle's usage so far, memoised for one billing run
(:func:`run_cache`). Both :mod:`prepay.billing.charging` and :mod:`prepay.billing.supply` use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, tzinfo
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from prepay.billing.models import Charge, Household, TierBasis
from prepay.common.errors import ActionError
from prepay.customers.models import Account
from prepay.domain.charging import scale_tiers
from prepay.domain.tariffs import Tariff as DomainTariff
from prepay.tariffs import engine
from prepay.tariffs.models import Tariff


class TariffMissing(LookupError):
    """No tariff version is in force for the account on a date."""


def local_tz() -> tzinfo:
    return timezone.get_default_timezone()


_RUN_CACHE: ContextVar[dict[Any, Any] | None] = ContextVar("billing_run_cache", default=None)


@contextmanager
def run_cache() -> Iterator[None]:
    """Memoise tariff lookups for one billing run (many accounts share a few tariffs). Tariff rows
    are master data; a run sees the versions in force when it started."""
    token = _RUN_CACHE.set({})
    try:
        yield
    finally:
        _RUN_CACHE.reset(token)


def cached(key: Any, compute: Any) -> Any:
    """``compute()``, memoised under ``key`` while a :func:`run_cache` is open (else computed)."""
    cache = _RUN_CACHE.get()
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _assignment_key(account: Account) -> tuple[Any, ...]:
    return (account.tariff_id, account.site_id, account.customer.customer_type_id, account.utility)


def tou_calendar(account: Account) -> tuple[frozenset[date], frozenset[date]]:
    """(holidays, make-up workdays) of the account's group, read once per billing run."""
    group_id = account.site.group_id
    return cached(("calendar", group_id), lambda: engine.calendar(group_id))  # type: ignore[no-any-return]


def tariff_versions(account: Account) -> list[Tariff]:
    """All versions of the account's assigned tariff code (same group; its site or group-wide)."""

    def compute() -> list[Tariff]:
        return engine.assigned_versions(account)

    return cached(("versions", _assignment_key(account)), compute)  # type: ignore[no-any-return]


def tariff_for(account: Account, on: date) -> tuple[Tariff, DomainTariff]:
    """The account's tariff version in force on ``on`` (prepay.tariffs.engine.tariff_for) with its
    tiers scaled per person when the tariff says so (TierBasis) and the account has a Household."""

    def compute() -> tuple[Tariff, DomainTariff, bool]:
        try:
            row, domain = engine.tariff_for(account, on)
        except ActionError as exc:
            raise TariffMissing(str(exc)) from None
        basis = TierBasis.objects.filter(tariff=row).first()
        return row, domain, basis is not None and basis.per_person

    row, domain, per_person = cached(("tariff", _assignment_key(account), on), compute)
    if per_person:
        household = Household.objects.filter(account=account).first()
        domain = scale_tiers(domain, household.persons if household else 1)
    return row, domain


def cycle_usage(account: Account, cycle_start: date) -> tuple[Decimal, Decimal]:
    """(energy counted towards tiers, flat-price quota used) in the account's cycle so far."""
    agg = Charge.objects.filter(account=account, cycle_start=cycle_start).aggregate(
        t=Sum("tier_energy"), q=Sum("quota_energy")
    )
    return agg["t"] or Decimal(0), agg["q"] or Decimal(0)
