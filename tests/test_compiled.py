"""Queries compiled once per process (``prepay.common.compiled``): the same rows as the queryset,
compiled once per shape, and a builder that breaks the rules is refused or caught."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.db.transaction import TransactionManagementError

from prepay.common.actions import Visible, locked_one
from prepay.common.compiled import CompiledQuery
from prepay.common.errors import NotFound
from prepay.customers.models import Account
from prepay.meters.models import Meter
from prepay.tariffs.models import SiteTariff, Tariff
from prepay.tenancy.models import PropertyGroup
from tests import factories as f


def tariffs(*, site_wide: bool, group_id: int, code: str) -> Any:
    """A group's versions of a tariff code, with their group (select_related), an annotation from
    a joined column and one from a subquery."""
    qs = Tariff.objects.select_related("group").filter(group_id=group_id, code=code)
    if site_wide:
        qs = qs.filter(site__isnull=True)
    return qs.annotate(
        group_code=F("group__code"), chosen=Exists(SiteTariff.objects.filter(tariff_id=OuterRef("pk")))
    ).order_by("pk")


def as_seen(rows: list[Tariff]) -> list[tuple[Any, ...]]:
    return [
        (
            *(getattr(r, f.attname) for f in Tariff._meta.concrete_fields),
            r.group.code,
            r.group_code,
            r.chosen,
            "group" in r._state.fields_cache,
        )
        for r in rows
    ]


@pytest.fixture
def versions(world: Any) -> Any:
    g = world.a1.group
    for site, start, price in [
        (None, date(2026, 1, 1), "0.6000"),
        (world.a1.site, date(2026, 3, 1), "0.7000"),
    ]:
        Tariff.objects.create(
            group=g, site=site, code="ct", name="c", unit_price=Decimal(price), effective_from=start
        )
    return world


def counted(build: Any) -> tuple[CompiledQuery, list[int]]:
    calls: list[int] = []

    def counting(**kw: Any) -> Any:
        calls.append(1)
        return build(**kw)

    return CompiledQuery("test", counting), calls


@pytest.mark.django_db
class CompiledQueryTestCase:
    def test_rows_are_the_querysets_and_each_shape_is_compiled_once(self, versions, settings):
        settings.PREPAY_CHECK_COMPILED_SQL = False  # count the builder's calls alone
        q, calls = counted(tariffs)
        g = versions.a1.group
        for site_wide in (False, True, False, True):
            for group_id, code in [
                (g.pk, "ct"),
                (g.pk, versions.a1.tariff.code),
                (versions.b1.group.pk, "ct"),
            ]:
                got = q.rows({"site_wide": site_wide}, group_id=group_id, code=code)
                want = list(tariffs(site_wide=site_wide, group_id=group_id, code=code))
                assert as_seen(got) == as_seen(want)
        assert len(calls) == 2 * 2  # one compile per shape (of two builds), however many values
        read = q.rows({"site_wide": False}, group_id=g.pk, code="ct")
        assert len(read) == 2
        assert [t.site_id for t in q.rows({"site_wide": True}, group_id=g.pk, code="ct")] == [None]
        # rows come back as saved instances of the database they were read from
        assert all(t._state.adding is False and t._state.db == "default" for t in read)

    def test_a_checked_run_is_also_built_afresh(self, versions):
        q, calls = counted(tariffs)
        for _ in range(3):
            q.rows({"site_wide": False}, group_id=versions.a1.group.pk, code="ct")
        assert len(calls) == 2 + 3  # the compile's two builds, then a fresh build beside each checked run

    def test_a_builder_that_reads_anything_but_its_values_is_caught_when_checked(self, versions):
        today = [date(2026, 2, 1)]

        def in_force(*, group_id: int) -> Any:
            return Tariff.objects.filter(group_id=group_id, code="ct", effective_from__lte=today[0])

        q = CompiledQuery("in_force", in_force)
        assert len(q.rows(group_id=versions.a1.group.pk)) == 1
        today[0] = date(2026, 4, 1)  # a clock read inside the builder: the cached SQL would go stale
        with pytest.raises(AssertionError, match="in_force"):
            q.rows(group_id=versions.a1.group.pk)

    def test_instants_are_values_and_values_list_gives_tuples(self, world):
        def made_between(*, lo: datetime, hi: datetime) -> Any:
            return (
                PropertyGroup.objects.filter(created_at__gte=lo, created_at__lt=hi)
                .order_by("code")
                .values_list("code", "created_at")
            )

        q = CompiledQuery("made_between", made_between)
        groups = PropertyGroup.objects.order_by("created_at")
        first, last = groups.first().created_at, groups.last().created_at
        assert first < last
        shanghai = ZoneInfo("Asia/Shanghai")
        for lo, hi in [
            (first, last),  # the last one is left out
            (first - timedelta(days=1), last + timedelta(seconds=1)),
            (first.astimezone(shanghai), (last + timedelta(microseconds=1)).astimezone(shanghai)),
            (last + timedelta(days=1), last + timedelta(days=2)),  # none
        ]:
            assert q.rows(lo=lo, hi=hi) == list(made_between(lo=lo, hi=hi))
        assert q.rows(lo=first, hi=last)[0] == (groups.first().code, first)
        assert q.rows(lo=last + timedelta(days=1), hi=last + timedelta(days=2)) == []

    def test_a_value_that_is_not_a_parameter_is_refused(self, versions):
        def ignores_code(*, group_id: int, code: str) -> Any:
            return Tariff.objects.filter(group_id=group_id)

        with pytest.raises(ValueError, match="'code' is not"):
            CompiledQuery("ignores", ignores_code).rows(group_id=versions.a1.group.pk, code="ct")

    def test_a_value_written_into_the_sql_is_refused(self, versions):
        def inlined(*, pk: int) -> Any:
            return Tariff.objects.extra(where=[f"id = {int(pk)}"])  # noqa: S610 - the refusal under test

        with pytest.raises(ValueError, match="not part of it"):
            CompiledQuery("inlined", inlined).rows(pk=versions.a1.tariff.pk)

    def test_a_value_the_builder_computes_with_is_refused(self, versions):
        def next_group(*, group_id: int) -> Any:
            return Tariff.objects.filter(group_id=group_id + 1)

        with pytest.raises(ValueError, match="computed from a value"):
            CompiledQuery("next_group", next_group).rows(group_id=versions.a1.group.pk)

    def test_a_column_with_a_small_range_compiles(self, world):
        # Django answers "no rows" without SQL for a value out of a column's range: the stand-ins fit
        def positive_small(*, n: int) -> Any:
            return Meter.objects.filter(key_revision=n).order_by("pk")

        q = CompiledQuery("positive_small", positive_small)
        assert q.rows(n=1) == list(positive_small(n=1)) != []
        assert q.rows(n=9) == q.rows(n=32767) == []

    @pytest.mark.parametrize("value", [None, True, Decimal("1.5"), date(2026, 1, 1), datetime(2026, 1, 1)])
    def test_only_ints_and_text_are_values(self, versions, value):
        def by_name(*, name: Any) -> Any:
            return Tariff.objects.filter(name=name)

        with pytest.raises(TypeError, match="only int, str and aware datetime"):
            CompiledQuery("by_name", by_name).rows(name=value)


def test_a_locking_query_outside_a_transaction_is_refused(pg_transactional):
    def locked(*, pk: int) -> Any:
        return Tariff.objects.select_for_update().filter(pk=pk)

    q = CompiledQuery("locked", locked)
    with transaction.atomic():
        assert q.rows(pk=1) == []
    with pytest.raises(TransactionManagementError):
        q.rows(pk=1)


def test_each_thread_compiles_its_own_and_reads_its_own_values(pg_transactional, settings):
    settings.PREPAY_CHECK_COMPILED_SQL = False
    codes = [f"th{i}" for i in range(4)]
    g = PropertyGroup.objects.create(code="thg", name="threads")
    for code in codes:
        Tariff.objects.create(
            group=g, code=code, name=code, unit_price=Decimal("1.0000"), effective_from=date(2026, 1, 1)
        )
    q, calls = counted(tariffs)
    seen: dict[str, list[str]] = {}

    def run(code: str) -> None:
        try:
            seen[code] = [
                t.code for _ in range(5) for t in q.rows({"site_wide": True}, group_id=g.pk, code=code)
            ]
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(code,)) for code in codes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {code: [code] * 5 for code in codes}
    assert len(calls) == 2 * len(codes)  # one compile (two builds) in each thread


@pytest.mark.django_db
class LockedVisibleTestCase:
    """``common.actions.locked_one`` of a :class:`Visible` row: the compiled lock query sees what the
    caller's scoped queryset sees, no more."""

    RELATED = ("site__billing_settings", "customer__customer_type")

    def test_each_caller_gets_the_rows_its_scope_gives(self, world):
        accounts = [f.account(w) for w in (world.a1, world.a2, world.b1)]
        owner = f.user("owner", is_superuser=True)
        nobody = f.user("nobody")
        two_sites = f.user(
            "two_sites",
            memberships=[(world.a1.group, world.a1.site, "clerk"), (world.b1.group, world.b1.site, "clerk")],
        )
        callers = [world.cashier, world.clerk_a2, world.admin, world.clerk_b, owner, nobody, two_sites]
        for user in callers:
            for account in accounts:
                scoped = Account.objects.for_user(user).filter(pk=account.pk)
                want = locked_one(scoped, *self.RELATED).pk if scoped.exists() else None
                try:
                    got = locked_one(Visible(Account, user, account.pk), *self.RELATED)
                except NotFound as exc:
                    assert exc.code == "not_found" and want is None, (user, account)
                else:
                    assert got.pk == want, (user, account)
                    assert {"site", "customer"} <= set(got._state.fields_cache)
        for huge in (2**63, -(2**63) - 1, 10**30):  # no column holds it: not found, as Django says
            with pytest.raises(NotFound):
                locked_one(Visible(Account, owner, huge), *self.RELATED)
            assert not Account.objects.filter(pk=huge).exists()
        assert locked_one(Visible(Account, world.cashier, accounts[0].pk)).pk == accounts[0].pk
        with pytest.raises(NotFound):
            locked_one(Visible(Account, world.cashier, accounts[2].pk))
