"""Hypothesis strategies shared by the protocol property and fuzz tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import strategies as st

from prepay.domain.protocols.dlt645 import formats as f
from prepay.domain.protocols.dlt645.registry import DataItem

digit_pairs = st.integers(0, 99).map(lambda n: f"{n:02d}")
addresses = st.lists(digit_pairs, min_size=6, max_size=6).map("".join)
addresses_with_wildcards = st.lists(digit_pairs | st.just("AA"), min_size=6, max_size=6).map("".join)
meter_datetimes = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31, 23, 59, 59)).map(
    lambda x: x.replace(microsecond=0)
)
hex_digits = st.text("0123456789ABCDEF", min_size=1, max_size=1)


def hexes(n: int) -> st.SearchStrategy[str]:
    return st.lists(hex_digits, min_size=n, max_size=n).map("".join)


def number_values(fmt: f.Number) -> st.SearchStrategy[object]:
    digits = 2 * fmt.length
    top = 8 * 10 ** (digits - 1) - 1 if fmt.signed else 10**digits - 1
    ints = st.integers(-top if fmt.signed else 0, top)
    if not fmt.decimals:
        return ints
    return ints.map(lambda n: Decimal(n).scaleb(-fmt.decimals))


def values_for(fmt: object) -> st.SearchStrategy[object]:
    if isinstance(fmt, f.Number):
        return number_values(fmt)
    if isinstance(fmt, f.Binary):
        return st.integers(0, (1 << (8 * fmt.length)) - 1)
    if isinstance(fmt, f.Digits):
        return st.text("0123456789", min_size=2 * fmt.length, max_size=2 * fmt.length)
    if isinstance(fmt, f.DateWithWeek):
        return st.builds(f.DateWeek, st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)), st.integers(0, 6))
    if isinstance(fmt, f.TimeOfDay):
        return st.times().map(lambda t: t.replace(microsecond=0))
    if isinstance(fmt, f.DateTime):
        return meter_datetimes
    if isinstance(fmt, f.Block):
        item = number_values(fmt.item)
        return st.tuples(*([item | st.none()] * fmt.count))
    raise AssertionError(fmt)


def item_and_value(items: list[DataItem]) -> st.SearchStrategy[tuple[DataItem, object]]:
    return st.sampled_from(items).flatmap(lambda it: st.tuples(st.just(it), values_for(it.format)))
