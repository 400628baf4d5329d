"""Line-loss and apportionment statements (figures from prepay/billing/reports.py): screen, export, scope."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from prepay.billing.models import ApportionmentRun, ApportionmentShare, PublicMeterGroup, SubMeter
from tests import factories as f
from tests.billing.conftest import at, read

LOSS = reverse("reports:report", args=["line-loss"])
APPORTION = reverse("reports:report", args=["apportionment"])
MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


@pytest.fixture
def trees(sales):
    """A master with two sub-meters at A1 (2 % loss) and one at B1 (sub-meters read more)."""
    w = sales.world

    def tree(site_world, master_kwh: str, subs_kwh: list[str]) -> None:
        master = f.meter(site_world, site_world.three)
        read(master, at(2026, 3, 1), "0")
        read(master, at(2026, 4, 1), master_kwh)
        SubMeter.objects.create(meter=master)
        for kwh in subs_kwh:
            sub = f.meter(site_world)
            read(sub, at(2026, 3, 1), "0")
            read(sub, at(2026, 4, 1), kwh)
            SubMeter.objects.create(meter=sub, master=master)

    tree(w.a1, "1000", ["600", "380"])
    tree(w.b1, "100", ["80", "30"])
    return sales


@pytest.fixture
def runs(sales):
    w = sales.world
    out = []
    for site_world, name in ((w.a1, "Lifts A1"), (w.b1, "Pumps B1")):
        group = PublicMeterGroup.objects.create(
            site=site_world.site, name=name, method="area", price=Decimal("0.6000")
        )
        run = ApportionmentRun.objects.create(
            public_group=group,
            period_start=date(2026, 3, 1),
            period_end=date(2026, 4, 1),
            method="area",
            total_energy=Decimal("100"),
            basis_total="177.0",
            price="0.6000",
        )
        for unit, energy, amount in (
            (site_world.units[0], "50.000", "30.00"),
            (site_world.units[1], "50.000", "30.00"),
        ):
            ApportionmentShare.objects.create(
                run=run,
                unit=unit,
                basis="88.5",
                fraction="1/2",
                energy=Decimal(energy),
                amount=Decimal(amount),
            )
        out.append(run)
    return out


class LineLossTestCase:
    def test_it_reports_master_against_sub_meters(self, client, trees):
        client.force_login(trees.world.finance)
        page = client.get(LOSS, MARCH)
        assert page.status_code == 200
        rows = page.context["data"].rows
        assert len(rows) == 1 and rows[0]["site"] == "Site a1"
        assert (rows[0]["master_energy"], rows[0]["sub_energy"], rows[0]["loss"]) == (
            Decimal("1000.000"),
            Decimal("980.000"),
            Decimal("20.000"),
        )
        assert rows[0]["loss_rate"] == Decimal("0.02") and rows[0]["flag"] == ""
        assert "2.00 %" in page.content.decode()

    def test_it_flags_sub_meters_reading_more_than_their_master(self, client, trees):
        client.force_login(trees.finance_b)
        rows = client.get(LOSS, MARCH).context["data"].rows
        assert [r["site"] for r in rows] == ["Site b1"]
        assert rows[0]["loss"] == Decimal("-10.000") and rows[0]["flag"] == "sub-meters above master"

    def test_it_exports(self, client, trees):
        client.force_login(trees.world.finance)
        assert client.get(LOSS, {**MARCH, "export": "xlsx"}).status_code == 200
        assert client.get(LOSS, {**MARCH, "export": "pdf"}).content.startswith(b"%PDF")

    def test_it_shows_site_staff_only_their_site(self, client, trees):
        from prepay.tenancy.choices import Role

        auditor_a2 = f.user(
            "auditor_a2", memberships=[(trees.world.a1.group, trees.world.a2.site, Role.AUDITOR)]
        )
        client.force_login(auditor_a2)
        assert client.get(LOSS, MARCH).context["data"].rows == []

    def test_it_refuses_a_clerk(self, client, trees):
        client.force_login(trees.world.clerk)
        assert client.get(LOSS, MARCH).status_code == 403

    def test_it_refuses_an_outsiders_site(self, client, trees):
        client.force_login(trees.finance_b)
        assert client.get(LOSS, {**MARCH, "site": trees.world.a1.site.pk}).status_code == 400


class ApportionmentTestCase:
    def test_it_states_each_units_share(self, client, runs, sales):
        client.force_login(sales.world.finance)
        page = client.get(APPORTION, {"month": "2026-03"})
        data = page.context["data"]
        assert [r["group"] for r in data.rows] == ["Lifts A1", "Lifts A1"]
        assert data.totals["amount"] == Decimal("60.00") and data.totals["energy"] == Decimal("100.000")
        assert "100.000 × 88.5 / 177.0 = 50.000" in data.rows[0]["explanation"]
        assert data.rows[0]["method"] == "By floor area"

    def test_it_lists_nothing_for_another_month(self, client, runs, sales):
        client.force_login(sales.world.finance)
        assert client.get(APPORTION, {"month": "2026-04"}).context["data"].rows == []

    def test_it_exports_with_totals(self, client, runs, sales):
        import io

        from openpyxl import load_workbook

        client.force_login(sales.world.finance)
        ws = load_workbook(
            io.BytesIO(client.get(APPORTION, {"month": "2026-03", "export": "xlsx"}).content)
        ).active
        assert ws.cell(row=ws.max_row, column=1).value == "Total"
        assert Decimal(str(ws.cell(row=ws.max_row, column=11).value)) == Decimal("60.00")

    def test_it_shows_an_outsider_only_their_group(self, client, runs, sales):
        client.force_login(sales.finance_b)
        assert {r["group"] for r in client.get(APPORTION, {"month": "2026-03"}).context["data"].rows} == {
            "Pumps B1"
        }

    def test_it_refuses_a_cashier(self, client, runs, sales):
        client.force_login(sales.world.cashier)
        assert client.get(APPORTION, {"month": "2026-03"}).status_code == 403
