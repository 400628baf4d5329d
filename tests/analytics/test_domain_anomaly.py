"""The pure rules of prepay.domain.anomaly: statistics, features, signals, wording parameters."""

from __future__ import annotations

import math
import statistics
from datetime import date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from prepay.domain.anomaly import (
    DayUse,
    Facts,
    LineLoss,
    Peer,
    Stats,
    Thresholds,
    Windows,
    account_stats,
    assess,
    combine,
    kwh,
    mad,
    median,
    percent,
    robust_z,
    size_band,
)

D = date(2026, 6, 11)
T = Thresholds()


def history(
    day: date, days: int, value: int, *, low_from: int | None = None, low: int = 0
) -> dict[date, DayUse]:
    """``days`` days of ``value`` Wh to ``day``; the last ``low_from`` days use ``low``."""
    out = {}
    for n in range(days):
        d = day - timedelta(days=n)
        out[d] = DayUse(low if low_from is not None and n < low_from else value + (n % 3) * 100, 24)
    return out


class StatisticsTestCase:
    @given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=50))
    def test_it_takes_the_median_as_postgresql_does(self, values):
        assert math.isclose(median(values), statistics.median(values), rel_tol=1e-12)

    def test_it_interpolates_an_even_count_like_percentile_cont(self):
        assert median([1, 2, 4, 10]) == 3.0 and median([]) is None
        assert mad([1, 2, 4, 10]) == 1.5

    def test_it_scales_the_robust_z_by_the_number_of_days(self):
        assert robust_z(1.0, 5.0, 1.0, 4) == (1.0 - 5.0) / (1.4826 * 1.0 / 2)
        assert robust_z(1.0, 5.0, 0.0) == -math.inf and robust_z(5.0, 5.0, None) == 0.0

    def test_it_words_figures(self):
        assert (kwh(412), kwh(450), kwh(None), percent(0.925)) == ("0.4", "0.5", "0.0", "93")


class FeaturesTestCase:
    W = Windows(baseline_days=28)

    def test_it_counts_a_low_streak_against_the_weekday_baseline(self):
        s = account_stats(history(D, 40, 5000, low_from=9, low=400), D, self.W)
        assert s.low_streak == 9 and s.low_usage == 9 * 400 and s.zero_streak == 0
        assert s.baseline_days == 28 and s.median is not None and s.recent_days == 7

    def test_it_skips_days_without_readings_in_a_streak(self):
        days = history(D, 40, 5000, low_from=6, low=0)
        del days[D - timedelta(days=2)]
        s = account_stats(days, D, self.W)
        assert s.low_streak == 5 and s.zero_streak == 5

    def test_it_needs_enough_history_for_a_baseline(self):
        s = account_stats(history(D, 10, 5000, low_from=9, low=0), D, self.W)
        assert s.median is None and s.low_streak == 0 and s.zero_streak == 9

    def test_it_follows_last_years_season(self):
        days = history(D, 40, 5000, low_from=7, low=1400)
        ago = D - timedelta(days=364)
        days |= history(ago, 40, 5000, low_from=7, low=3000)  # a year ago use fell too
        s = account_stats(days, D, self.W)
        assert 0.58 < s.factor < 0.6 and s.low_streak == 0  # 1.4 kWh is not 70 % below 0.59 × 5.1

    def test_it_bands_unit_sizes(self):
        assert [size_band(a, (60, 90, 120)) for a in (0, 59.9, 60, 88.5, 200)] == [0, 0, 1, 1, 3]


class SignalsTestCase:
    def low_facts(self) -> Facts:
        return Facts(
            stats=Stats(
                baseline_days=28, median=5100.0, mad=300.0, low_streak=9, low_usage=3600, low_expected=45900.0
            )
        )

    def test_it_explains_low_use_with_its_figures(self):
        a = assess(self.low_facts(), T, D)
        (r,) = a.reasons
        assert r.code == "low_own" and r.params == {
            "days": "9",
            "usage": "0.4",
            "percent": "92",
            "median": "5.1",
        }
        assert a.score == r.points == 70

    def test_it_combines_independent_signals_below_100(self):
        assert combine([50, 50]) == 75 and combine([100, 30]) == 100 and combine([]) == 0

    def test_it_compares_with_peers(self):
        f = Facts(
            stats=Stats(recent_days=7, recent_usage=7 * 500),
            peer=Peer("Residential, 60–90 m²", 4200.0, 300.0, 12),
        )
        (r,) = assess(f, T, D).reasons
        assert r.code == "low_peer" and r.params["percent"] == "88" and r.params["count"] == "12"

    def test_it_ignores_a_small_dip_inside_the_spread(self):
        f = Facts(
            stats=Stats(
                baseline_days=28,
                median=5100.0,
                mad=4000.0,
                low_streak=5,
                low_usage=5 * 1400,
                low_expected=25500.0,
            )
        )
        assert assess(f, T, D).reasons == []

    def test_it_reads_register_evidence(self):
        f = Facts(
            stats=Stats(median=4800.0),
            bypass=6300,
            bypass_steps=24,
            backwards=8400,
            backwards_steps=30,
            reset_steps=1,
            reset_at=datetime(2026, 6, 9, 14, 15),
            reset_from=1234500,
            reset_to=200,
            max_step=85000,
            max_step_secs=900,
            max_step_at=datetime(2026, 6, 10, 3, 15),
        )
        codes = {r.code: r for r in assess(f, T, D).reasons}
        assert set(codes) == {"bypass", "backwards", "reset", "jump"}
        assert codes["reset"].params["at"] == "2026-06-09 14:15" and codes["jump"].params["times"] == "1700"

    def test_it_counts_tamper_offline_tokens_and_line_loss(self):
        f = Facts(
            tamper={"magnetic": 2, "cover_open": 1},
            offline_days=12,
            tokens=2,
            token_units=Decimal("150"),
            credit_rise=Decimal("0"),
            line_loss=LineLoss("M1", Decimal("38.2"), 120000, 74200, Decimal("5"), main_suspect=True),
        )
        codes = {r.code: r for r in assess(f, T, D).reasons}
        assert codes["tamper"].params["kinds"] == "cover_open:1,magnetic:2" and codes["tamper"].points == 50
        assert codes["offline"].points == 55 and codes["token_not_entered"].points == 60
        assert codes["line_loss_main"].params["percent"] == "38"

    def test_it_forgives_a_bought_offline_meter_and_entered_tokens(self):
        f = Facts(
            offline_days=12, bought_since=True, tokens=1, token_units=Decimal("50"), credit_rise=Decimal("50")
        )
        assert assess(f, T, D).reasons == []

    def test_it_lowers_the_score_after_a_false_alarm_for_a_while(self):
        f = self.low_facts()
        f.false_alarm_on = D - timedelta(days=3)
        a = assess(f, T, D)
        assert (a.raw_score, a.score) == (70, 35) and a.reasons[-1].code == "false_alarm"
        f.false_alarm_on = D - timedelta(days=30)
        assert assess(f, T, D).score == 70
