"""Reporting periods, recovery rate and ageing (pure)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prepay.domain.reporting import (
    Period,
    ageing_bucket,
    month_period,
    parse_month,
    previous_ten_day_period,
    recovery_rate,
    ten_day_period,
)


class TenDayPeriodTestCase:
    @pytest.mark.parametrize(
        ("day", "start", "end"),
        [
            (date(2026, 3, 1), date(2026, 3, 1), date(2026, 3, 10)),
            (date(2026, 3, 10), date(2026, 3, 1), date(2026, 3, 10)),
            (date(2026, 3, 11), date(2026, 3, 11), date(2026, 3, 20)),
            (date(2026, 3, 20), date(2026, 3, 11), date(2026, 3, 20)),
            (date(2026, 3, 21), date(2026, 3, 21), date(2026, 3, 31)),
            (date(2026, 2, 28), date(2026, 2, 21), date(2026, 2, 28)),
            (date(2028, 2, 29), date(2028, 2, 21), date(2028, 2, 29)),
            (date(2026, 4, 30), date(2026, 4, 21), date(2026, 4, 30)),
        ],
    )
    def test_it_finds_the_period_of_a_day(self, day, start, end):
        assert ten_day_period(day) == Period(start, end)

    @given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
    def test_it_tiles_the_calendar(self, day):
        p = ten_day_period(day)
        assert day in p
        assert ten_day_period(p.end + timedelta(days=1)).start == p.end + timedelta(days=1)
        assert previous_ten_day_period(p).end == p.start - timedelta(days=1)
        assert 8 <= p.days <= 11

    def test_it_refuses_a_period_ending_before_it_starts(self):
        with pytest.raises(ValueError):
            Period(date(2026, 1, 2), date(2026, 1, 1))


class MonthTestCase:
    def test_it_parses_a_month(self):
        assert parse_month("2026-02") == date(2026, 2, 1)
        assert month_period(date(2026, 2, 14)) == Period(date(2026, 2, 1), date(2026, 2, 28))

    @pytest.mark.parametrize("text", ["", "2026", "2026-13", "26-1-1", "abcd-ef"])
    def test_it_refuses_a_bad_month(self, text):
        with pytest.raises(ValueError):
            parse_month(text)


class RecoveryRateTestCase:
    def test_it_divides_collected_by_due(self):
        assert recovery_rate(Decimal("79.00"), Decimal("80.00")) == Decimal("0.9875")

    def test_it_rounds_half_up_to_four_places(self):
        assert recovery_rate(Decimal("1"), Decimal("3")) == Decimal("0.3333")
        assert recovery_rate(Decimal("2"), Decimal("3")) == Decimal("0.6667")

    def test_it_has_no_rate_when_nothing_is_due(self):
        assert recovery_rate(Decimal("10"), Decimal("0")) is None
        assert recovery_rate(Decimal("10"), Decimal("-5")) is None


class AgeingTestCase:
    @pytest.mark.parametrize(
        ("days", "bucket"),
        [(-3, "0-30"), (0, "0-30"), (30, "0-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"), (91, "90+")],
    )
    def test_it_buckets_days(self, days, bucket):
        assert ageing_bucket(days) == bucket
