"""Line-loss report over a two-level master / sub-meter tree, and the arrears list."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from prepay.billing.models import SubMeter
from prepay.billing.reports import arrears, line_loss
from prepay.customers.models import Account
from tests import factories as f
from tests.billing.conftest import at, pay, read


class LineLossReportTestCase:
    def test_it_reports_a_two_level_tree(self, world: Any) -> None:
        w = world.a1
        sub, b1, b2, f1, f2, f3 = (f.meter(w, w.three) for _ in range(6))
        sub.ct_ratio = 80  # the substation master sits behind CTs
        sub.save()
        figures = {
            sub: ("0", "12.5"),
            b1: ("0", "600"),
            b2: ("0", "380"),
            f1: ("0", "300"),
            f2: ("0", "290"),
            f3: ("0", "340"),
        }
        for m, (a, b) in figures.items():
            read(m, at(2026, 3, 1), a)
            read(m, at(2026, 4, 1), b)
        SubMeter.objects.create(meter=sub)
        SubMeter.objects.create(meter=b1, master=sub)
        SubMeter.objects.create(meter=b2, master=sub, loss_threshold=Decimal("12"))
        for m, master in ((f1, b1), (f2, b1), (f3, b1)):
            SubMeter.objects.create(meter=m, master=b2 if m is f3 else master)
        rows = {r.meter: r for r in line_loss(w.site.pk, date(2026, 3, 1), date(2026, 4, 1))}
        assert list(rows) == [sub, b1, b2]
        assert (rows[sub].master_energy, rows[sub].sub_energy, rows[sub].loss_percent) == (
            Decimal("1000.000"),
            Decimal("980.000"),
            Decimal("2.00"),
        )
        assert rows[b2].loss_percent == Decimal("10.53") and not rows[b2].flagged  # its own threshold is 12 %
        assert rows[b1].loss == Decimal("10.000") and rows[b1].depth == 1


class ArrearsTestCase:
    def test_it_lists_accounts_that_owe(self, world: Any) -> None:
        owing = f.account(world.a1)
        fine = f.account(world.a1, unit=world.a1.units[1])
        pay(owing, "-5.00", "x")
        pay(fine, "5.00", "y")
        rows = arrears(Account.objects.all())
        assert [r["account"] for r in rows] == [owing.number]
