"""Master / sub-meter line loss (线损), pure: a tree of meters of any depth.

Contract:

* ``parents`` maps each meter to its master (``None`` for a root). Cycles and unknown parents are
  refused. ``energy`` maps each meter to its real energy over the period (Decimal); a meter with no
  figure counts as missing and its branch is flagged ``incomplete`` (its loss is still computed from
  the figures present, so it is an upper bound).
* For every meter with sub-meters: ``loss = master − Σ direct sub-meters``; ``loss % = loss ÷ master ×
  100`` rounded to 0.01 (None when the master reads 0). A branch is ``flagged`` when its loss % is above
  the threshold, or when the loss is negative (sub-meters read more than their master: a wiring or
  multiplier error worth a look).
* Rows come depth first (master before its branches), children in the given order, so the report
  reads like the tree. ``depth`` is 0 for a root.
"""

from __future__ import annotations

import decimal
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

__all__ = ["LossError", "LossRow", "loss_report"]

K = TypeVar("K", bound=Hashable)


class LossError(ValueError):
    """The tree is not a tree (cycle, unknown parent) or a figure is not a Decimal."""


@dataclass(frozen=True)
class LossRow(Generic[K]):
    meter: K
    depth: int
    children: tuple[K, ...]
    master_energy: Decimal | None
    sub_energy: Decimal
    loss: Decimal | None
    loss_percent: Decimal | None
    flagged: bool
    incomplete: bool


def _tree(parents: Mapping[K, K | None]) -> tuple[list[K], dict[K, list[K]]]:
    children: dict[K, list[K]] = {k: [] for k in parents}
    roots: list[K] = []
    for k, p in parents.items():
        if p is None:
            roots.append(k)
        elif p not in parents:
            raise LossError(f"{k!r}: master {p!r} is not in the tree")
        elif p == k:
            raise LossError(f"{k!r} is its own master")
        else:
            children[p].append(k)
    for k in parents:  # walk up from each node: a cycle never reaches a root
        seen = {k}
        p = parents[k]
        while p is not None:
            if p in seen:
                raise LossError(f"the masters of {k!r} form a cycle")
            seen.add(p)
            p = parents[p]
    return roots, children


def loss_report(
    parents: Mapping[K, K | None], energy: Mapping[K, Decimal], *, threshold_percent: object = "5"
) -> list[LossRow[K]]:
    """One row per meter that has sub-meters; see the module docstring."""
    if isinstance(threshold_percent, float):
        raise LossError("threshold: pass a string or Decimal, not a float")
    threshold = Decimal(str(threshold_percent))
    for k, v in energy.items():
        if not isinstance(v, Decimal):
            raise LossError(f"energy of {k!r}: expected a Decimal, not {v!r}")
    roots, children = _tree(parents)
    rows: list[LossRow[K]] = []

    def visit(node: K, depth: int) -> None:
        kids = children[node]
        if kids:
            master = energy.get(node)
            present = [energy[c] for c in kids if c in energy]
            sub = sum(present, Decimal(0))
            incomplete = master is None or len(present) != len(kids)
            loss = pct = None
            flagged = False
            if master is not None:
                loss = master - sub
                if master != 0:
                    with decimal.localcontext() as ctx:
                        ctx.prec = 40
                        pct = (loss * 100 / master).quantize(Decimal("0.01"), rounding=decimal.ROUND_HALF_UP)
                    flagged = pct > threshold
                flagged = flagged or loss < 0
            rows.append(LossRow(node, depth, tuple(kids), master, sub, loss, pct, flagged, incomplete))
        for c in kids:
            visit(c, depth + 1)

    for r in roots:
        visit(r, 0)
    return rows
