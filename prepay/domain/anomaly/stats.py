"""Robust statistics with PostgreSQL's exact arithmetic, so SQL and Python give the same figures.

Contract:

* :func:`median` is ``percentile_cont(0.5)``: values are taken as IEEE doubles (``float``); for an even
  count the two middle values are interpolated as PostgreSQL does (``lo + 0.5 × (hi − lo)``), which is
  not always the same double as ``(lo + hi) / 2``. An empty input has no median (``None``).
* :func:`mad` is the median absolute deviation from the median, the same way (no 1.4826 factor:
  :data:`MAD_SCALE` turns it into a standard-deviation estimate where a z-score needs one).
* :func:`robust_z` is ``(x − centre) / (MAD_SCALE × mad / √n)``: how many robust standard errors the
  mean of ``n`` values lies from the centre; a spread of 0 gives ±infinity (or 0 when ``x`` equals the
  centre), never a division error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["MAD_SCALE", "mad", "median", "robust_z"]

#: MAD × 1.4826 estimates the standard deviation of normally distributed values
MAD_SCALE = 1.4826


def median(values: Iterable[float | int]) -> float | None:
    """``percentile_cont(0.5) WITHIN GROUP (ORDER BY v)`` of PostgreSQL, bit for bit."""
    ordered = sorted(float(v) for v in values)
    n = len(ordered)
    if n == 0:
        return None
    pos = 0.5 * (n - 1)
    lo = math.floor(pos)
    hi = math.ceil(pos)
    if lo == hi:
        return ordered[lo]
    return ordered[lo] + (pos - lo) * (ordered[hi] - ordered[lo])


def mad(values: Iterable[float | int], centre: float | None = None) -> float | None:
    """Median absolute deviation of ``values`` from ``centre`` (default: their median)."""
    vals = [float(v) for v in values]
    if not vals:
        return None
    c = median(vals) if centre is None else centre
    assert c is not None
    return median(abs(v - c) for v in vals)


def robust_z(x: float, centre: float, spread: float | None, n: int = 1) -> float:
    """Robust z-score of the mean ``x`` of ``n`` values against ``centre`` with MAD ``spread``."""
    if spread is None or spread <= 0:
        if x == centre:
            return 0.0
        return -math.inf if x < centre else math.inf
    return (x - centre) / (MAD_SCALE * spread / math.sqrt(max(n, 1)))
