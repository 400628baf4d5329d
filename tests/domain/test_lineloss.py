"""Master / sub-meter line loss (pure): a two-level tree worked example."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prepay.domain.lineloss import LossError, loss_report


class LossReportTestCase:
    def test_it_reports_a_two_level_tree(self) -> None:
        # substation S feeds building masters B1 and B2; B1 feeds flats f1, f2; B2 feeds f3
        parents = {"S": None, "B1": "S", "B2": "S", "f1": "B1", "f2": "B1", "f3": "B2"}
        energy = {
            k: Decimal(v)
            for k, v in {"S": "1000", "B1": "600", "B2": "380", "f1": "300", "f2": "290", "f3": "340"}.items()
        }
        rows = {r.meter: r for r in loss_report(parents, energy, threshold_percent="5")}
        assert list(rows) == ["S", "B1", "B2"]
        s, b1, b2 = rows["S"], rows["B1"], rows["B2"]
        assert (s.sub_energy, s.loss, s.loss_percent, s.flagged) == (
            Decimal("980"),
            Decimal("20"),
            Decimal("2.00"),
            False,
        )
        assert (b1.loss, b1.loss_percent, b1.flagged, b1.depth) == (Decimal("10"), Decimal("1.67"), False, 1)
        assert (b2.loss, b2.loss_percent, b2.flagged) == (Decimal("40"), Decimal("10.53"), True)

    def test_it_flags_negative_loss_and_missing_figures(self) -> None:
        rows = loss_report({"M": None, "a": "M", "b": "M"}, {"M": Decimal("10"), "a": Decimal("11")})
        assert rows[0].flagged and rows[0].incomplete and rows[0].loss == Decimal("-1")

    def test_it_refuses_a_cycle_and_unknown_master(self) -> None:
        with pytest.raises(LossError):
            loss_report({"a": "b", "b": "a"}, {})
        with pytest.raises(LossError):
            loss_report({"a": "x"}, {})
