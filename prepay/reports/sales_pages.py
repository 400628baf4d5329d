"""The sales detail's rows, counted, sorted and paged by the database (issue 17).

A period of the sales detail can hold hundreds of thousands of sales. :class:`SalesRows` stands for
its rows (every sale of the filtered period and the reversals approved in it, prepay/reports/sales.py)
without reading them: its length is two ``COUNT`` queries, a page is one query over the ``UNION ALL``
of sales and reversals sorted and cut by the database (``ORDER BY … LIMIT … OFFSET``) followed by one
query each for the page's sales and reversals, and iterating it (Excel, PDF) streams both in time order
a chunk at a time. So the queries a page costs do not grow with the rows, and the memory a download
takes does not either (the workbook aside).

Sorting by a column sorts by the same value the column shows, except: the operator by user name
(shown: family and given name), the payment method by its code and, on reversals, the status as empty
(shown: "Reverses <receipt>"). Ties go by time, then sales before reversals, then id.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from typing import Any, overload

from django.db.models import CharField, F, IntegerField, QuerySet, Value
from django.db.models.expressions import Combinable

from prepay.reports.sales import (
    REVERSAL_FIELDS,
    SALE_FIELDS,
    reversal_row,
    sale_row,
)
from prepay.vending.models import Reversal, Vend
from prepay.vending.reversals import with_settlement

SALE, REVERSAL = 0, 1
#: rows read from the database at a time while iterating
CHUNK = 2000

#: column key -> (the value on a sale, the value on a reversal) it sorts by
SORTS: dict[str, tuple[Combinable, Combinable]] = {
    "time": (F("created_at"), F("decided_at")),
    "entry": (Value(SALE, output_field=IntegerField()), Value(REVERSAL, output_field=IntegerField())),
    "receipt": (F("receipt_no"), F("receipt__code")),
    "site": (F("account__site__name"), F("account__site__name")),
    "point": (F("point__name"), F("vend__point__name")),
    "operator": (F("created_by__username"), F("vend__created_by__username")),
    "account": (F("account__number"), F("account__number")),
    "customer": (F("account__customer__name"), F("account__customer__name")),
    "meter": (F("meter__serial"), F("vend__meter__serial")),
    "method": (F("method"), F("vend__method")),
    "amount": (F("amount"), -F("vend__amount")),
    "arrears": (F("arrears_recovered"), -F("vend__arrears_recovered")),
    "credit": (F("credit_amount"), -F("vend__credit_amount")),
    "energy": (F("energy"), -F("vend__energy")),
    "status": (F("status"), Value("", output_field=CharField())),
}
#: the order every sort ends with, so a page is always the same rows
TIE = ("time", "entry", "row")


class SalesRows(Sequence[dict[str, Any]]):
    """The rows of :func:`prepay.reports.sales.sale_rows` and ``reversal_rows`` merged by time, read
    from the database a page or a chunk at a time. ``reversals`` is None when only sales are listed
    (a status is chosen). :meth:`ordered` gives the same rows sorted by columns (``"-amount"``)."""

    def __init__(
        self, vends: QuerySet[Vend], reversals: QuerySet[Reversal] | None, order: Sequence[str] = ()
    ) -> None:
        self.vends = vends.order_by()
        self.reversals = None if reversals is None else reversals.order_by()
        self.order = [o for o in order if o.lstrip("-") in SORTS]
        self._count: int | None = None

    def ordered(self, order: Sequence[str]) -> SalesRows:
        """The same rows sorted by ``order`` (column keys, ``-`` for descending; unknown keys ignored)."""
        return SalesRows(self.vends, self.reversals, order)

    def __len__(self) -> int:
        if self._count is None:
            self._count = self.vends.count() + (0 if self.reversals is None else self.reversals.count())
        return self._count

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return self.page(0, len(self))[index]
            return self.page(start, stop)
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(index)
        return self.page(position, position + 1)[0]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self.order:
            for start in range(0, len(self), CHUNK):
                yield from self.page(start, start + CHUNK)
            return
        yield from self._stream()

    def page(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Rows ``start`` … ``stop - 1`` in this order: three queries whatever their number."""
        if stop <= start:
            return []
        keys = [o.lstrip("-") for o in self.order]
        names = [f"k{i}" for i in range(len(keys))]
        union = self._side(self.vends, 0, keys, names)
        if self.reversals is not None:
            union = union.union(self._side(self.reversals, 1, keys, names), all=True)
        sort = [f"-{n}" if o.startswith("-") else n for n, o in zip(names, self.order, strict=True)]
        found = [(r["entry"], r["row"]) for r in union.order_by(*sort, *TIE)[start:stop]]
        sales = self._sales([pk for kind, pk in found if kind == SALE])
        reversals = self._reversals([pk for kind, pk in found if kind == REVERSAL])
        return [sales[pk] if kind == SALE else reversals[pk] for kind, pk in found]

    @staticmethod
    def _side(qs: QuerySet[Any], side: int, keys: list[str], names: list[str]) -> QuerySet[Any]:
        """One half of the union: the row's kind, id, time and sort values, named alike on both."""
        columns: dict[str, Any] = {
            "entry": SORTS["entry"][side],
            "row": F("pk"),
            "time": SORTS["time"][side],
        }
        columns.update({n: SORTS[k][side] for n, k in zip(names, keys, strict=True)})
        return qs.annotate(**columns).values(*columns)

    def _sales(self, pks: list[int]) -> dict[int, dict[str, Any]]:
        if not pks:
            return {}
        return {v["pk"]: sale_row(v) for v in Vend.objects.filter(pk__in=pks).values(*SALE_FIELDS)}

    def _reversals(self, pks: list[int]) -> dict[int, dict[str, Any]]:
        if not pks:
            return {}
        found = with_settlement(Reversal.objects.filter(pk__in=pks)).values(*REVERSAL_FIELDS)
        return {r["pk"]: reversal_row(r) for r in found}

    def _stream(self) -> Iterator[dict[str, Any]]:
        """Every row by time, sales before reversals at the same instant, without holding them all."""
        sales = (
            ((v["created_at"], SALE, v["pk"]), sale_row(v))
            for v in self.vends.order_by("created_at", "pk").values(*SALE_FIELDS).iterator(CHUNK)
        )
        if self.reversals is None:
            yield from (row for _, row in sales)
            return
        found = with_settlement(self.reversals).order_by("decided_at", "pk").values(*REVERSAL_FIELDS)
        reversals = (((r["decided_at"], REVERSAL, r["pk"]), reversal_row(r)) for r in found.iterator(CHUNK))
        for _, row in heapq.merge(sales, reversals, key=lambda pair: pair[0]):
            yield row


__all__ = ["SalesRows", "SORTS"]
