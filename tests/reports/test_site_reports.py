"""Monthly allocation, recovery rate and arrears: figures, scoping and roles."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from prepay.reports.queries import local_today
from tests.reports import builders as b

ALLOCATION = reverse("reports:report", args=["allocation"])
RECOVERY = reverse("reports:report", args=["recovery"])
ARREARS = reverse("reports:report", args=["arrears"])


def by_site(page, key="site"):
    out: dict[str, list] = {}
    for r in page.context["data"].rows:
        out.setdefault(r[key], []).append(r)
    return out


class AllocationTestCase:
    def test_it_allocates_money_and_energy_per_site_and_method(self, client, sales):
        client.force_login(sales.world.finance)
        page = client.get(ALLOCATION, {"month": local_today().strftime("%Y-%m")})
        assert page.status_code == 200
        rows = by_site(page)
        a1 = rows["Site a1"][0]
        month_start = local_today().replace(day=1)
        old_in_month = timezone.localdate(sales.old.created_at) >= month_start
        expected = Decimal("150.50") + (Decimal("7.00") if old_in_month else 0)
        assert a1["amount"] == expected and a1["m_card"] == Decimal("50.50")
        assert a1["m_cash"] == expected - Decimal("50.50")
        assert a1["ctype"] == "Residential" and a1["vends"] == (3 if old_in_month else 2)
        assert rows["Site a2"][0]["energy"] == Decimal("40.500")
        assert "Site b1" not in rows
        assert page.context["data"].totals["amount"] == expected + Decimal("20.25")

    def test_it_nets_a_sale_reversed_in_the_same_month(self, client, sales):
        typo = b.sale(sales.acc2, sales.p2, "500.00", by=sales.world.cashier)
        b.reversal(typo, by=sales.world.cashier, decided_by=sales.world.finance)
        client.force_login(sales.world.finance)
        row = by_site(client.get(ALLOCATION))["Site a2"][0]
        assert (row["amount"], row["energy"], row["vends"], row["reversed"]) == (
            Decimal("20.25"),
            Decimal("40.500"),
            2,
            1,
        )

    def test_it_counts_a_reversal_in_the_month_it_was_approved(self, client, sales):
        from datetime import datetime
        from zoneinfo import ZoneInfo

        tz = ZoneInfo("Asia/Shanghai")
        sale = b.sale(
            sales.acc2, sales.p2, "80.00", by=sales.world.cashier, at=datetime(2026, 3, 31, 23, 0, tzinfo=tz)
        )
        b.reversal(
            sale,
            by=sales.world.cashier,
            decided_by=sales.world.finance,
            at=datetime(2026, 4, 1, 9, 0, tzinfo=tz),
        )
        client.force_login(sales.world.finance)
        march = by_site(client.get(ALLOCATION, {"month": "2026-03"}))["Site a2"][0]
        april = by_site(client.get(ALLOCATION, {"month": "2026-04"}))["Site a2"][0]
        assert (march["amount"], march["energy"], march["reversed"]) == (
            Decimal("80.00"),
            Decimal("160.000"),
            0,
        )
        assert (april["amount"], april["energy"], april["reversed"]) == (
            Decimal("-80.00"),
            Decimal("-160.000"),
            1,
        )

    def test_it_lists_a_site_without_sales_with_zeros(self, client, sales):
        client.force_login(sales.world.finance)
        page = client.get(ALLOCATION, {"month": "2020-01"})
        assert [(r["site"], r["amount"]) for r in page.context["data"].rows] == [
            ("Site a1", Decimal("0.00")),
            ("Site a2", Decimal("0.00")),
        ]

    def test_it_refuses_a_bad_month(self, client, sales):
        client.force_login(sales.world.finance)
        assert client.get(ALLOCATION, {"month": "2020-13"}).status_code == 400

    def test_it_shows_site_staff_only_their_site(self, client, sales):
        client.force_login(sales.world.auditor)
        assert set(by_site(client.get(ALLOCATION))) == {"Site a1"}

    def test_it_refuses_a_clerk(self, client, sales):
        client.force_login(sales.world.clerk)
        assert client.get(ALLOCATION).status_code == 403

    def test_it_shows_an_outsider_only_their_group(self, client, sales):
        client.force_login(sales.finance_b)
        assert set(by_site(client.get(ALLOCATION))) == {"Site b1"}
        assert client.get(ALLOCATION, {"site": sales.world.a2.site.pk}).status_code == 400


class RecoveryTestCase:
    def test_it_divides_payments_by_charges_and_vends(self, client, sales):
        client.force_login(sales.world.finance)
        today = local_today()
        start = (timezone.localtime() - timedelta(days=60)).date()
        page = client.get(RECOVERY, {"date_from": start.isoformat(), "date_to": today.isoformat()})
        a1 = by_site(page)["Site a1"][0]
        # A1: vends 100 + 50.50 + 7 (paid and loaded), debtor paid 10 and was charged 25 + 5
        assert a1["collected"] == Decimal("167.50")
        assert a1["due"] == Decimal("187.50")
        assert a1["rate"] == Decimal("0.8933")
        a2 = by_site(page)["Site a2"][0]
        assert a2["rate"] == Decimal("1.0000")

    def test_it_counts_a_reversal_with_what_it_reverses(self, client, sales):
        # as do_approve_reversal posts it: the vend's credit back (reversal), the money paid out (refund)
        b.entry(sales.acc2, "payment", "40.00")
        b.entry(sales.acc2, "vend", "-40.00")
        b.entry(sales.acc2, "reversal", "40.00")
        b.entry(sales.acc2, "refund", "-40.00")
        client.force_login(sales.world.finance)
        a2 = by_site(client.get(RECOVERY))["Site a2"][0]
        assert (a2["collected"], a2["due"]) == (Decimal("20.25"), Decimal("20.25"))

    def test_it_counts_an_entry_that_names_what_it_reverses_as_that_kind(self, client, sales):
        pay = b.entry(sales.acc2, "payment", "40.00")
        b.entry(sales.acc2, "reversal", "-40.00", reverses=pay)  # a payment taken back
        client.force_login(sales.world.finance)
        a2 = by_site(client.get(RECOVERY))["Site a2"][0]
        assert (a2["collected"], a2["due"]) == (Decimal("20.25"), Decimal("20.25"))

    def test_it_shows_no_rate_when_nothing_is_due(self, client, sales):
        client.force_login(sales.world.finance)
        page = client.get(RECOVERY, {"date_from": "2020-01-01", "date_to": "2020-01-31"})
        assert {r["rate"] for r in page.context["data"].rows} == {None}
        assert "—" in page.content.decode()

    def test_it_shows_site_staff_only_their_site(self, client, sales):
        client.force_login(sales.world.auditor)
        assert set(by_site(client.get(RECOVERY))) == {"Site a1"}

    def test_it_refuses_a_cashier(self, client, sales):
        client.force_login(sales.world.cashier)
        assert client.get(RECOVERY).status_code == 403

    def test_it_shows_an_outsider_only_their_group(self, client, sales):
        client.force_login(sales.finance_b)
        assert set(by_site(client.get(RECOVERY))) == {"Site b1"}


class ArrearsTestCase:
    def test_it_lists_negative_balances_with_their_age(self, client, sales):
        client.force_login(sales.world.finance)
        page = client.get(ARREARS)
        rows = page.context["data"].rows
        assert [r["account"] for r in rows] == [sales.debtor.number]
        assert rows[0]["balance"] == Decimal("-20.00")
        assert rows[0]["days"] == 40 and rows[0]["bucket"] == "31-60"
        assert page.context["data"].totals["balance"] == Decimal("-20.00")

    def test_it_restarts_the_age_after_the_balance_was_settled(self, client, sales):
        from tests import factories as f

        acc = f.account(sales.world.a2, mode="remote")
        now = timezone.now()
        b.entry(acc, "charge", "-25.00", at=now - timedelta(days=40))
        b.entry(acc, "payment", "25.00", at=now - timedelta(days=3))
        b.entry(acc, "charge", "-5.00", at=now - timedelta(days=2))
        client.force_login(sales.world.finance)
        rows = {r["account"]: r for r in client.get(ARREARS).context["data"].rows}
        assert rows[acc.number]["balance"] == Decimal("-5.00") and rows[acc.number]["days"] == 2

    def test_its_queries_do_not_grow_with_the_accounts_in_arrears(self, sales):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from prepay.reports.queries import arrears_rows
        from prepay.tenancy.models import Site
        from tests import factories as f

        def count() -> tuple[int, int]:
            with CaptureQueriesContext(connection) as queries:
                rows = arrears_rows(sales.world.finance, Site.objects.all())
            return len(rows), len(queries.captured_queries)

        now = timezone.now()
        count()  # the user's memberships are read once, on the first call
        before_rows, before_queries = count()
        for days in (9, 19, 29):
            acc = f.account(sales.world.a2, mode="remote")
            b.entry(acc, "payment", "5.00", at=now - timedelta(days=days + 5))
            b.entry(acc, "charge", "-8.00", at=now - timedelta(days=days))
        rows, queries = count()
        assert rows == before_rows + 3 and queries == before_queries
        ages = {r["days"] for r in arrears_rows(sales.world.finance, Site.objects.all())}
        assert {9, 19, 29} <= ages

    def test_it_hides_another_sites_arrears_from_site_staff(self, client, sales, world):
        from prepay.tenancy.choices import Role
        from tests import factories as f

        auditor_a2 = f.user("auditor_a2", memberships=[(world.a1.group, world.a2.site, Role.AUDITOR)])
        client.force_login(auditor_a2)
        assert client.get(ARREARS).context["data"].rows == []

    @pytest.mark.parametrize("role", ["cashier", "clerk"])
    def test_it_refuses_roles_without_reports_view(self, client, sales, role):
        client.force_login(getattr(sales.world, role))
        assert client.get(ARREARS).status_code == 403

    def test_it_shows_an_outsider_nothing(self, client, sales):
        client.force_login(sales.finance_b)
        assert client.get(ARREARS).context["data"].rows == []
