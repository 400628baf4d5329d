"""Worked examples and properties for prepay.domain.metering; expected numbers computed by hand in comments."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prepay.domain.metering import (
    BACKWARDS,
    CONFLICT,
    GAP,
    IMPLAUSIBLE,
    PRORATED,
    ROLLOVER,
    InstallationSpan,
    MeteringError,
    Reading,
    RegisterSpec,
    consumption,
    intervals,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
DAY = timedelta(days=1)


def series(meter: str, *points: tuple[timedelta, str]) -> list[Reading]:
    return [Reading(T0 + offset, D(value), meter) for offset, value in points]


class ReadingTestCase:
    def test_it_refuses_a_float_value(self) -> None:
        with pytest.raises(MeteringError, match="inexact"):
            Reading(T0, 1.5, "M1")  # type: ignore[arg-type]

    def test_it_refuses_a_naive_datetime(self) -> None:
        with pytest.raises(MeteringError, match="timezone-aware"):
            Reading(datetime(2024, 1, 1), D("1"), "M1")

    def test_it_refuses_a_negative_value_and_a_missing_meter(self) -> None:
        with pytest.raises(MeteringError, match="negative"):
            Reading(T0, D("-1"), "M1")
        with pytest.raises(MeteringError, match="meter id"):
            Reading(T0, D("1"), " ")

    def test_it_parses_strings(self) -> None:
        assert Reading(T0, "12.50", "M1").value == D("12.50")  # type: ignore[arg-type]


class RegisterSpecTestCase:
    def test_it_derives_range_and_multiplier(self) -> None:
        spec = RegisterSpec(int_digits=6, decimals=2, ct_ratio=80, pt_ratio=100)
        assert spec.max_value == D("999999.99")
        assert spec.modulus == D("1000000")
        assert spec.resolution == D("0.01")
        assert spec.multiplier == 8000  # 80 × 100

    def test_it_refuses_bad_ratios_digits_and_band(self) -> None:
        with pytest.raises(MeteringError, match="ct_ratio"):
            RegisterSpec(ct_ratio=0)
        with pytest.raises(MeteringError, match="pt_ratio"):
            RegisterSpec(pt_ratio=2.5)  # type: ignore[arg-type]
        with pytest.raises(MeteringError, match="int_digits"):
            RegisterSpec(int_digits=0)
        with pytest.raises(MeteringError, match="decimals"):
            RegisterSpec(decimals=True)
        with pytest.raises(MeteringError, match="rollover_band"):
            RegisterSpec(rollover_band=D("0.6"))

    def test_it_refuses_readings_the_register_cannot_show(self) -> None:
        spec = RegisterSpec(int_digits=5, decimals=1)
        with pytest.raises(MeteringError, match="outside the register range"):
            intervals(series("M1", (0 * H, "0"), (H, "100000.0")), spec)
        with pytest.raises(MeteringError, match="more than 1 decimal"):
            intervals(series("M1", (0 * H, "0"), (H, "1.25")), spec)


class IntervalsTestCase:
    def test_it_computes_plain_deltas(self) -> None:
        ivs = intervals(series("M1", (0 * H, "100.00"), (H, "112.50"), (2 * H, "130.25")), RegisterSpec())
        # 112.50 − 100.00 = 12.50; 130.25 − 112.50 = 17.75
        assert [iv.delta for iv in ivs] == [D("12.50"), D("17.75")]
        assert [iv.energy for iv in ivs] == [D("12.50"), D("17.75")]
        assert [(iv.start, iv.end) for iv in ivs] == [(T0, T0 + H), (T0 + H, T0 + 2 * H)]
        assert all(iv.flags == frozenset() and iv.meter == "M1" for iv in ivs)

    def test_it_applies_a_ct_ratio_of_80(self) -> None:
        (iv,) = intervals(series("M1", (0 * H, "100.00"), (H, "112.50")), RegisterSpec(ct_ratio=80))
        assert iv.delta == D("12.50")
        assert iv.energy == D("1000.00")  # 12.50 × 80

    def test_it_applies_ct_80_and_pt_100(self) -> None:
        spec = RegisterSpec(ct_ratio=80, pt_ratio=100)
        (iv,) = intervals(series("M1", (0 * H, "100.00"), (H, "112.50")), spec)
        assert iv.energy == D("100000.00")  # 12.50 × 8000

    def test_it_handles_a_rollover(self) -> None:
        spec = RegisterSpec(int_digits=5, decimals=1, ct_ratio=80)
        (iv,) = intervals(series("M1", (0 * H, "99999.9"), (H, "0002.3")), spec)
        # 100000 − 99999.9 + 2.3 = 2.4 register units (0.1 to reach the wrap, 2.3 after it)
        assert iv.delta == D("2.4")
        assert iv.energy == D("192.0")  # 2.4 × 80
        assert iv.flags == {ROLLOVER}

    def test_it_keeps_counting_after_a_rollover(self) -> None:
        spec = RegisterSpec(int_digits=5, decimals=1)
        ivs = intervals(series("M1", (0 * H, "99990.0"), (H, "5.0"), (2 * H, "15.0")), spec)
        # 100000 − 99990 + 5 = 15; then 15 − 5 = 10
        assert [iv.delta for iv in ivs] == [D("15.0"), D("10.0")]

    def test_it_treats_a_drop_from_mid_range_as_backwards_not_rollover(self) -> None:
        spec = RegisterSpec(int_digits=5, decimals=1)
        (iv,) = intervals(series("M1", (0 * H, "50000.0"), (H, "2.3")), spec)
        # 50000 is not in the top 10 % (≥ 90000): backwards
        assert iv.flags == {BACKWARDS}
        assert iv.delta == D("0.0") and iv.energy == D("0.0")

    def test_it_refuses_an_implausible_rollover(self) -> None:
        spec = RegisterSpec(int_digits=5, decimals=1)
        points = series("M1", (0 * H, "99999.9"), (H, "0002.3"))
        # implied 2.4 units in 1 h > max_rate 1 unit/h: backwards, not a rollover
        (iv,) = intervals(points, spec, max_rate=D("1"))
        assert iv.flags == {BACKWARDS}
        # at 3 units/h, 2.4 in 1 h is plausible
        (iv,) = intervals(points, spec, max_rate=D("3"))
        assert iv.flags == {ROLLOVER}

    def test_it_flags_backwards_never_credits_and_never_double_charges(self) -> None:
        points = series("M1", (0 * H, "100.00"), (H, "95.00"), (2 * H, "103.00"), (3 * H, "110.00"))
        ivs = intervals(points, RegisterSpec())
        # 100 → 95: backwards, 0 (not −5 credited)
        # 95 → 103: measured from the high-water mark 100: 3.00 (not 8.00: 95…100 was already billed)
        # 103 → 110: 7.00; total 10.00 = 110 − 100
        assert [iv.delta for iv in ivs] == [D("0.00"), D("3.00"), D("7.00")]
        assert [iv.flags for iv in ivs] == [{BACKWARDS}, frozenset(), frozenset()]
        assert ivs[1].from_value == D("100.00") and ivs[1].to_value == D("103.00")
        assert sum(iv.energy for iv in ivs) == D("10.00")

    def test_it_stays_at_zero_while_below_the_high_water_mark(self) -> None:
        points = series("M1", (0 * H, "100.00"), (H, "90.00"), (2 * H, "98.00"), (3 * H, "101.00"))
        ivs = intervals(points, RegisterSpec())
        # 90 and 98 are both below 100: 0, 0; then 101 − 100 = 1
        assert [iv.delta for iv in ivs] == [D("0.00"), D("0.00"), D("1.00")]
        assert [BACKWARDS in iv.flags for iv in ivs] == [True, True, False]

    def test_it_sorts_out_of_order_readings_and_drops_duplicates(self) -> None:
        ordered = series("M1", (0 * H, "1.00"), (H, "2.00"), (2 * H, "4.00"), (3 * H, "7.00"))
        shuffled = [ordered[2], ordered[0], ordered[3], ordered[1], ordered[2], ordered[0]]
        assert intervals(shuffled, RegisterSpec()) == intervals(ordered, RegisterSpec())
        assert [iv.delta for iv in intervals(shuffled, RegisterSpec())] == [D("1.00"), D("2.00"), D("3.00")]

    def test_it_flags_a_conflict_and_keeps_the_lower_value(self) -> None:
        points = series("M1", (0 * H, "1.00"), (H, "2.50"), (H, "2.00"), (2 * H, "4.00"))
        ivs = intervals(points, RegisterSpec())
        # at 1 h: 2.50 vs 2.00 → keep 2.00; deltas 1.00 and 2.00, both adjoining intervals flagged
        assert [iv.delta for iv in ivs] == [D("1.00"), D("2.00")]
        assert all(CONFLICT in iv.flags for iv in ivs)

    def test_it_flags_a_gap_as_one_interval(self) -> None:
        points = series("M1", (0 * DAY, "10.00"), (DAY, "20.00"), (4 * DAY, "50.00"), (5 * DAY, "60.00"))
        ivs = intervals(points, RegisterSpec(), max_gap=DAY)
        # days 1 → 4 are missing: one 3-day interval of 30.00 flagged gap
        assert [iv.delta for iv in ivs] == [D("10.00"), D("30.00"), D("10.00")]
        assert [iv.flags for iv in ivs] == [frozenset(), {GAP}, frozenset()]

    def test_it_flags_an_implausible_forward_jump_but_counts_it(self) -> None:
        (iv,) = intervals(series("M1", (0 * H, "0.00"), (H, "500.00")), RegisterSpec(), max_rate="100")
        assert iv.flags == {IMPLAUSIBLE}
        assert iv.delta == D("500.00")

    def test_it_returns_nothing_for_fewer_than_two_instants(self) -> None:
        assert intervals([], RegisterSpec()) == []
        assert intervals(series("M1", (0 * H, "1.00"), (0 * H, "1.00")), RegisterSpec()) == []

    def test_it_refuses_mixed_meters_and_bad_parameters(self) -> None:
        with pytest.raises(MeteringError, match="several meters"):
            intervals(series("M1", (0 * H, "1")) + series("M2", (H, "2")), RegisterSpec())
        with pytest.raises(MeteringError, match="max_rate"):
            intervals(series("M1", (0 * H, "1")), RegisterSpec(), max_rate=0)
        with pytest.raises(MeteringError, match="max_rate"):
            intervals(series("M1", (0 * H, "1")), RegisterSpec(), max_rate=1.5)
        with pytest.raises(MeteringError, match="max_gap"):
            intervals(series("M1", (0 * H, "1")), RegisterSpec(), max_gap=timedelta(0))
        with pytest.raises(MeteringError, match="Reading"):
            intervals(["1"], RegisterSpec())  # type: ignore[list-item]


JAN = datetime(2024, 1, 1, tzinfo=UTC)
JAN15 = datetime(2024, 1, 15, tzinfo=UTC)
FEB = datetime(2024, 2, 1, tzinfo=UTC)


def replacement() -> tuple[list[InstallationSpan], list[Reading]]:
    """Old meter A (CT 50) removed on 15 January at 1040.00; new meter B (CT 80) installed at 0.00."""
    old = InstallationSpan(
        "A", RegisterSpec(ct_ratio=50), datetime(2023, 6, 1, tzinfo=UTC), D("0.00"), JAN15, D("1040.00")
    )
    new = InstallationSpan("B", RegisterSpec(ct_ratio=80), JAN15, D("0.00"))
    readings = [
        Reading(datetime(2023, 12, 1, tzinfo=UTC), D("900.00"), "A"),
        Reading(JAN, D("1000.00"), "A"),
        Reading(FEB, D("25.00"), "B"),
    ]
    return [old, new], readings


class ConsumptionTestCase:
    def test_it_sums_a_meter_replacement_with_different_ct_ratios(self) -> None:
        spans, readings = replacement()
        result = consumption(JAN, FEB, spans, readings)
        # A: (1040.00 − 1000.00) × 50 = 2000.00; B: (25.00 − 0.00) × 80 = 2000.00; total 4000.00
        assert [(p.meter, p.multiplier, p.energy) for p in result.parts] == [
            ("A", 50, D("2000.00")),
            ("B", 80, D("2000.00")),
        ]
        assert result.energy == D("4000.00")
        assert result.uncovered == ()
        assert result.flags == frozenset()
        # A's earlier intervals (June → December → January) lie before the period and are left out
        assert [(s.start, s.end) for s in result.parts[0].shares] == [(JAN, JAN15)]

    def test_it_prorates_an_interval_straddling_the_period_end(self) -> None:
        spans, readings = replacement()
        readings[-1] = Reading(FEB + 17 * DAY, D("50.00"), "B")
        result = consumption(JAN, FEB, spans, readings)
        # B: 15 Jan → 18 Feb (34 days) 50.00 × 80 = 4000.00; 17 of 34 days in January → 2000.000
        (share,) = result.parts[1].shares
        assert share.energy == D("2000.000")
        assert PRORATED in share.flags and share.interval.energy == D("4000.00")
        assert result.energy == D("4000.000")

    def test_it_prorates_by_cumulative_curve_so_thirds_add_up(self) -> None:
        span = InstallationSpan("M1", RegisterSpec(), JAN, D("0.00"))
        readings = [Reading(JAN + 3 * H, D("1.00"), "M1")]
        # F(1 h) = 0.333, F(2 h) = 0.6667 → 0.667, F(3 h) = 1.00
        thirds = [consumption(JAN + i * H, JAN + (i + 1) * H, [span], readings).energy for i in range(3)]
        assert thirds == [D("0.333"), D("0.334"), D("0.333")]
        assert sum(thirds) == D("1.00")

    def test_it_reports_uncovered_time(self) -> None:
        span = InstallationSpan("M1", RegisterSpec(), JAN, D("0.00"))
        result = consumption(JAN, FEB, [span], [Reading(JAN15, D("5.00"), "M1")])
        # readings only reach 15 January: 15 Jan → 1 Feb is unknown
        assert result.energy == D("5.00")
        assert result.uncovered == ((JAN15, FEB),)

    def test_it_reports_a_meterless_stretch_between_removal_and_installation(self) -> None:
        old = InstallationSpan("A", RegisterSpec(), JAN - DAY, D("0.00"), JAN15, D("10.00"))
        new = InstallationSpan("B", RegisterSpec(), JAN15 + DAY, D("0.00"))
        result = consumption(JAN, FEB, [new, old], [Reading(FEB, D("4.00"), "B")])
        # A: 10.00 over 31 Dec → 15 Jan (15 days), 14 in January → 9.333; B: 4.00
        assert [p.energy for p in result.parts] == [D("9.333"), D("4.00")]
        assert result.uncovered == ((JAN15, JAN15 + DAY),)

    def test_it_ignores_readings_outside_an_installation(self) -> None:
        span = InstallationSpan("M1", RegisterSpec(), JAN, D("0.00"), JAN15, D("10.00"))
        stray = [Reading(JAN15 + DAY, D("99.00"), "M1"), Reading(JAN + DAY, D("3.00"), "OTHER")]
        assert consumption(JAN, FEB, [span], stray).energy == D("10.00")

    def test_it_refuses_overlapping_installations(self) -> None:
        a = InstallationSpan("A", RegisterSpec(), JAN, D("0"), JAN15 + DAY, D("1"))
        b = InstallationSpan("B", RegisterSpec(), JAN15, D("0"))
        with pytest.raises(MeteringError, match="overlap"):
            consumption(JAN, FEB, [a, b], [])
        with pytest.raises(MeteringError, match="overlap"):
            consumption(JAN, FEB, [InstallationSpan("A", RegisterSpec(), JAN, D("0")), b], [])

    def test_it_refuses_bad_installations_and_periods(self) -> None:
        with pytest.raises(MeteringError, match="go together"):
            InstallationSpan("A", RegisterSpec(), JAN, D("0"), JAN15)
        with pytest.raises(MeteringError, match="after installed_at"):
            InstallationSpan("A", RegisterSpec(), JAN15, D("0"), JAN, D("1"))
        with pytest.raises(MeteringError, match="outside the register range"):
            InstallationSpan("A", RegisterSpec(int_digits=2), JAN, D("100"))
        with pytest.raises(MeteringError, match="inexact"):
            InstallationSpan("A", RegisterSpec(), JAN, 1.0)  # type: ignore[arg-type]
        with pytest.raises(MeteringError, match="after period_start"):
            consumption(FEB, JAN, [], [])
        with pytest.raises(MeteringError, match="timezone-aware"):
            consumption(datetime(2024, 1, 1), FEB, [], [])


# --- properties -------------------------------------------------------------------------------------

SPEC_RANGE = D(10000)  # int_digits=4, decimals=1: 0.0 … 9999.9


@st.composite
def meter_history(draw: st.DrawFn) -> tuple[RegisterSpec, InstallationSpan, list[Reading], D]:
    """A 4+1-digit register with CT/PT, forward steps ≤ 200 units (some wrapping) and rare drops.

    Returns the spec, the installation, readings, and the forward units the meter really turned.
    """
    spec = RegisterSpec(
        int_digits=4,
        decimals=1,
        ct_ratio=draw(st.sampled_from([1, 5, 80])),
        pt_ratio=draw(st.sampled_from([1, 100])),
    )
    tenths = draw(st.integers(0, 99999))
    span = InstallationSpan("M1", spec, JAN, D(tenths) / 10)
    at = JAN
    readings: list[Reading] = []
    for _ in range(draw(st.integers(0, 12))):
        at += timedelta(minutes=draw(st.integers(1, 3 * 24 * 60)))
        if draw(st.integers(0, 9)) == 0:
            # a backwards glitch of up to 50 units (kept above zero so it is never mistaken for a wrap)
            value = max(tenths % 100000 - draw(st.integers(1, 500)), 0)
        else:
            tenths += draw(st.integers(0, 2000))
            value = tenths % 100000
        readings.append(Reading(at, D(value) / 10, "M1"))
    return spec, span, readings, D(tenths) / 10


class MeteringPropertiesTestCase:
    @settings(max_examples=200, deadline=None)
    @given(meter_history(), st.randoms(use_true_random=False))
    def test_it_gives_the_same_intervals_for_any_input_order(
        self, history: tuple[RegisterSpec, InstallationSpan, list[Reading], D], rnd: random.Random
    ) -> None:
        spec, span, readings, _ = history
        shuffled = list(readings)
        rnd.shuffle(shuffled)
        assert intervals(shuffled, spec) == intervals(readings, spec)
        period = (JAN, JAN + 40 * DAY)
        assert consumption(*period, [span], shuffled) == consumption(*period, [span], readings)

    @settings(max_examples=200, deadline=None)
    @given(meter_history())
    def test_it_never_goes_negative_and_totals_its_intervals(
        self, history: tuple[RegisterSpec, InstallationSpan, list[Reading], D]
    ) -> None:
        spec, span, readings, turned = history
        ivs = intervals(span.readings(readings), spec)
        assert all(iv.delta >= 0 and iv.energy >= 0 for iv in ivs)
        assert all(iv.energy == iv.delta * spec.multiplier for iv in ivs)
        # the high-water rule bills exactly what the register turned forward, never more
        assert sum((iv.delta for iv in ivs), D(0)) <= turned - span.opening
        if not any(BACKWARDS in iv.flags for iv in ivs):
            assert sum((iv.delta for iv in ivs), D(0)) == turned - span.opening
        result = consumption(JAN, JAN + 40 * DAY, [span], readings)
        assert result.energy >= 0
        assert result.energy == sum((s.energy for p in result.parts for s in p.shares), D(0))
        assert result.energy == sum((iv.energy for iv in ivs), D(0))  # the period covers every interval

    @settings(max_examples=200, deadline=None)
    @given(meter_history(), st.integers(0, 40 * 24 * 60), st.integers(0, 40 * 24 * 60))
    def test_it_adds_up_sub_periods_to_the_whole(
        self, history: tuple[RegisterSpec, InstallationSpan, list[Reading], D], cut: int, other: int
    ) -> None:
        _, span, readings, _ = history
        start, end = JAN + timedelta(minutes=min(cut, other)), JAN + timedelta(minutes=max(cut, other) + 1)
        middle = start + (end - start) / 3
        whole = consumption(start, end, [span], readings)
        first = consumption(start, middle, [span], readings)
        second = consumption(middle, end, [span], readings)
        assert first.energy + second.energy == whole.energy
        assert all(s.energy >= 0 for p in whole.parts for s in p.shares)
