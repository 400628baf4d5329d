"""Day schedules (property-tested): a partition of the day parses; a gap or an overlap is refused and
named on the row where it starts, in the order the rows were written."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from prepay.domain.tariffs import Tariff, TariffError
from prepay.domain.tariffs.schema import MINUTES_PER_DAY

PRICES = {"peak": "0.9800", "flat": "0.6500", "valley": "0.3200"}


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def partitions(draw: Any) -> list[list[str]]:
    """A day cut at 1–6 distinct quarter-hours into rows, in a shuffled order."""
    cuts = draw(st.lists(st.integers(1, 95), min_size=0, max_size=5, unique=True))
    bounds = [0, *sorted(c * 15 for c in cuts), MINUTES_PER_DAY]
    names = st.sampled_from(sorted(PRICES))
    rows = [[clock(a), clock(b), draw(names)] for a, b in zip(bounds, bounds[1:], strict=False)]
    return draw(st.permutations(rows))


def tou(rows: list[list[str]]) -> dict[str, Any]:
    return {"kind": "tou", "prices": PRICES, "schedule": rows}


class ScheduleTestCase:
    @given(partitions())
    def test_it_accepts_every_partition_of_the_day(self, rows: list[list[str]]):
        schedule = Tariff.from_dict(tou(rows)).schedules
        assert schedule is not None
        assert sum(p.end - p.start for p in schedule.workday.periods) == MINUTES_PER_DAY

    @given(partitions(), st.data())
    def test_it_names_the_row_after_a_removed_one(self, rows: list[list[str]], data: Any):
        if len(rows) < 2:
            return
        gone = data.draw(st.integers(0, len(rows) - 1))
        left = rows[:gone] + rows[gone + 1 :]
        try:
            Tariff.from_dict(tou(left))
        except TariffError as exc:
            assert exc.code in ("gap", "uncovered")
            index = int(exc.field.removeprefix("schedule[").removesuffix("]"))
            removed_start, removed_end = rows[gone][0], rows[gone][1]
            # the row named begins where the removed one ended, or ends where it began (end of day)
            assert left[index][0] == removed_end or left[index][1] == removed_start
        else:
            raise AssertionError("a day with a row removed must not parse")

    @given(partitions(), st.data())
    def test_it_refuses_a_row_stretched_over_its_neighbour(self, rows: list[list[str]], data: Any):
        ordered = sorted(rows)
        if len(ordered) < 2:
            return
        i = data.draw(st.integers(0, len(ordered) - 2))
        a, b = ordered[i], ordered[i + 1]
        end = int(b[1][:2]) * 60 + int(b[1][3:])
        start = int(b[0][:2]) * 60 + int(b[0][3:])
        if end - start < 2:
            return
        stretched = [r if r is not a else [a[0], clock(start + 1), a[2]] for r in ordered]
        try:
            Tariff.from_dict(tou(stretched))
        except TariffError as exc:
            assert exc.code == "overlap" and exc.field == f"schedule[{i + 1}]", str(exc)
        else:
            raise AssertionError("overlapping rows must not parse")
