"""Public-area apportionment (公摊), pure: share public meters' consumption among a set of units.

Contract:

* ``method`` is ``area`` (each unit's floor area), ``consumption`` (each unit's own consumption in the
  same period) or ``equal``. The basis values must be ≥ 0 Decimals.
* Shares are exact to the step (0.001 for energy, 0.01 for money) and always add up to the total:
  each unit gets ``floor(total × basis / Σ basis)`` steps and the steps left over go, one each, to the
  units with the largest remainders (ties: the unit listed first). So nobody is ever off by more than
  one step and the public energy is neither lost nor invented.
* When every basis is zero (e.g. ``consumption`` in a month where all units stood empty) the total is
  shared equally and the result says so (``fallback="equal"``), rather than dropping the energy.
* A negative total (a public meter's correction) is shared the same way with its sign.
"""

from __future__ import annotations

import decimal
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Generic, TypeVar

__all__ = [
    "ApportionmentError",
    "Method",
    "Result",
    "Share",
    "allocate",
    "apportion",
]

K = TypeVar("K", bound=Hashable)

ENERGY_STEP = Decimal("0.001")
MONEY_STEP = Decimal("0.01")


class ApportionmentError(ValueError):
    """Bad input: an unknown method, a negative basis, no units, a float."""


class Method(StrEnum):
    AREA = "area"
    CONSUMPTION = "consumption"
    EQUAL = "equal"


@dataclass(frozen=True)
class Share(Generic[K]):
    """One unit's part: its ``basis`` (area m², own consumption, or 1), ``fraction`` of the basis total
    (exact, for the statement) and the allocated ``amount``."""

    key: K
    basis: Decimal
    fraction: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Result(Generic[K]):
    method: Method
    total: Decimal
    basis_total: Decimal
    shares: tuple[Share[K], ...]
    fallback: str = ""


def _check(value: object, name: str) -> Decimal:
    if isinstance(value, (bool, float)) or not isinstance(value, (Decimal, int, str)):
        raise ApportionmentError(f"{name}: expected a Decimal, not {value!r}")
    try:
        d = Decimal(value)
    except decimal.InvalidOperation as exc:
        raise ApportionmentError(f"{name}: not a number: {value!r}") from exc
    if not d.is_finite():
        raise ApportionmentError(f"{name}: not finite")
    return d


def allocate(
    total: object, weights: Sequence[tuple[K, object]], step: Decimal = ENERGY_STEP
) -> list[Decimal]:
    """Split ``total`` by ``weights`` in whole ``step``s with the largest-remainder rule.

    Returns one amount per weight, in order; they add up to ``total`` exactly (``total`` must be a
    whole number of steps). All-zero weights share equally.
    """
    t = _check(total, "total")
    if not weights:
        raise ApportionmentError("no units to share among")
    ws = [_check(w, f"basis of {k!r}") for k, w in weights]
    if any(w < 0 for w in ws):
        raise ApportionmentError("a basis must not be negative")
    if sum(ws) == 0:
        ws = [Decimal(1)] * len(ws)
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        steps = t / step
        if steps != steps.to_integral_value():
            raise ApportionmentError(f"total {t} is not a whole number of {step} steps")
        sign = -1 if steps < 0 else 1
        n = int(abs(steps))
        whole = sum(ws)
        exact = [Decimal(n) * w / whole for w in ws]
        base = [int(e.to_integral_value(rounding=decimal.ROUND_FLOOR)) for e in exact]
        left = n - sum(base)
        order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - base[i]), i))
        for i in order[:left]:
            base[i] += 1
        return [(sign * b * step).quantize(step) for b in base]


def apportion(
    total: object, method: Method | str, bases: Sequence[tuple[K, object]], *, step: Decimal = ENERGY_STEP
) -> Result[K]:
    """Share ``total`` (energy of the public meters) among ``bases`` = [(unit, basis)] by ``method``.

    For ``equal`` the bases given are ignored (each unit counts 1).
    """
    try:
        m = Method(method)
    except ValueError:
        raise ApportionmentError(f"unknown method {method!r}; use area, consumption or equal") from None
    t = _check(total, "total")
    if not bases:
        raise ApportionmentError("no units to share among")
    if m is Method.EQUAL:
        pairs: list[tuple[K, Decimal]] = [(k, Decimal(1)) for k, _ in bases]
    else:
        pairs = [(k, _check(b, f"basis of {k!r}")) for k, b in bases]
    if any(b < 0 for _, b in pairs):
        raise ApportionmentError("a basis must not be negative")
    basis_total = sum((b for _, b in pairs), Decimal(0))
    fallback = ""
    if basis_total == 0:
        fallback = Method.EQUAL.value
        pairs = [(k, Decimal(1)) for k, _ in pairs]
        basis_total = Decimal(len(pairs))
    amounts = allocate(t, pairs, step)
    with decimal.localcontext() as ctx:
        ctx.prec = 28
        shares = tuple(
            Share(key=k, basis=b, fraction=(b / basis_total), amount=a)
            for (k, b), a in zip(pairs, amounts, strict=True)
        )
    return Result(method=m, total=t, basis_total=basis_total, shares=shares, fallback=fallback)
