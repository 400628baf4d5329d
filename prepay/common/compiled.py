"""Hot queries whose SQL Django builds and compiles once per process.

Building a queryset with subqueries and compiling it to SQL costs Django far more Python than the
database needs to answer it: a sale's state (``vending.actions._sale_state``, six subqueries) took
about 17 ms to build and compile and 3 ms to run on PostgreSQL. A :class:`CompiledQuery` builds its
queryset once per thread, database and *shape*, twice, with two sets of stand-in values for its
parameters, and compiles both. It notes where each stand-in landed among the SQL's parameters (a
parameter that differs between the two builds must be a stand-in; one that does not is the
builder's own constant), and from then on runs that SQL with the call's values in their places.
Rows come back through Django's own iterable, with the same converters, related rows and
annotations as the queryset would give.

Rules for a builder (``build(**shape, **values)``):

- ``values`` are the query's parameters: ints, strings and aware datetimes, each a parameter of the
  SQL, or tuples of them (for ``__in``; a tuple's length is part of the shape, and the builder
  keeps its order, as a sorted tuple has it). Ints are for ``=`` and ``IN``: one that no 64-bit
  column holds gives no rows. A value the builder leaves out of the SQL, writes into it, or
  computes with is refused when it is first compiled.
- ``shape`` is everything that changes the SQL itself (a branch on whether a value is None, a
  choice of column): each shape is compiled separately. Booleans and None belong here.
- The builder reads nothing else that varies (no clock, no setting, no row): the SQL is reused.
- The query goes to one database for a shape (a write, or a read the router never moves).

With ``settings.PREPAY_CHECK_COMPILED_SQL`` (on in the tests) every run also builds and compiles the
queryset with the call's values and fails unless it is the same SQL with the same parameters, so a
builder that breaks a rule is caught by any test that runs it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from django.db.transaction import TransactionManagementError

#: stand-ins for parameters, in two sets (:class:`_Compiled` compiles the builder's queryset with
#: each): small positive ints, which every integer column's range holds (Django finds no rows for a
#: value out of a column's range and would compile nothing), text no one types, instants in 2999
_INT_BASES = (20_011, 26_011)
_TEXT = "\u2983compiled-parameter-{}-{}\u2984"
_INSTANT = datetime(2999, 1, 1, tzinfo=UTC)


#: the integers a database column can hold: an int value is for ``=`` and ``IN``, and one outside
#: these matches no row (SQLite cannot even take it as a parameter)
_INT64 = (-(2**63), 2**63 - 1)

#: where one value goes: (its name, its index in a tuple value or None)
Slot = tuple[str, "int | None"]


def _stand_in(name: str, index: int, value: object, which: int) -> object:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return _INSTANT + timedelta(days=which, seconds=index)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(
            f"compiled query parameter {name!r} is {type(value).__name__}: only int, str and aware "
            "datetime values (or tuples of them) are parameters; put anything else in the shape"
        )
    return _INT_BASES[which] + 7 * index if isinstance(value, int) else _TEXT.format(which, index)


def _slots(values: Mapping[str, Any]) -> list[tuple[Slot, Any]]:
    """Every single value of ``values`` with its slot, in a fixed order (a tuple's in its own)."""
    out: list[tuple[Slot, Any]] = []
    for name, value in sorted(values.items()):
        if isinstance(value, tuple):
            out += [((name, j), v) for j, v in enumerate(value)]
        else:
            out.append(((name, None), value))
    return out


def _signature(values: Mapping[str, Any]) -> tuple[Any, ...]:
    """What of ``values`` the SQL depends on: names, kinds and the length of each tuple."""
    return tuple(
        (name, len(v) if isinstance(v, tuple) else None, type(v)) for name, v in sorted(values.items())
    )


def _as_parameter(connection: Any, value: object) -> object:
    """``value`` as the SQL's parameters hold it (an instant: as the database's driver takes it)."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _compile(compiler: Any) -> tuple[str, tuple[Any, ...]]:
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # a filter that matches nothing whatever the values (``pk__in=[]``)
        return "", ()
    return sql, tuple(params)


class _Compiled:
    """One shape's SQL on one database in one thread: the queryset, its compiler and the places of
    the values among the parameters."""

    def __init__(self, builds: list[tuple[QuerySet[Any], list[tuple[Slot, object]]]]) -> None:
        """``builds``: the queryset built with each set of stand-ins, and those stand-ins. A parameter
        that differs between the two is a value's, and must be exactly one of its stand-ins."""
        # the database is the one the router names now: a shape's query always goes to one database
        # (writes, or reads the router never moves)
        (qs, stand_ins), (other_qs, other_stand_ins) = builds
        self.alias = qs.db
        self.connection = connections[self.alias]
        self.vendor = self.connection.vendor
        compiler = qs.query.get_compiler(using=self.alias)
        sql, params = _compile(compiler)
        other_sql, other_params = _compile(other_qs.query.get_compiler(using=self.alias))
        if sql != other_sql or len(params) != len(other_params):
            raise ValueError("a compiled query's values must be parameters of its SQL, not part of it")
        held = {
            (_as_parameter(self.connection, a), _as_parameter(self.connection, b)): slot
            for (slot, a), (_slot, b) in zip(stand_ins, other_stand_ins, strict=True)
        }
        places: list[tuple[int, Slot]] = []
        for i, pair in enumerate(zip(params, other_params, strict=True)):
            if pair[0] == pair[1] and type(pair[0]) is type(pair[1]):
                continue  # the builder's own constant
            if pair not in held:
                raise ValueError(f"a compiled query's parameter {i} is computed from a value, not the value")
            places.append((i, held[pair]))
        for slot in set(held.values()) - {slot for _i, slot in places}:
            if sql:
                raise ValueError(f"compiled query value {slot[0]!r} is not a parameter of its SQL")
        self.qs, self.compiler, self.sql, self.params, self.places = qs, compiler, sql, list(params), places
        # the queryset's iterable asks its query for a compiler: it gets this one, which answers with
        # the compiled SQL and the call's parameters instead of compiling again
        qs.query.get_compiler = lambda *a, **k: compiler  # type: ignore[method-assign]
        compiler.as_sql = lambda *a, **k: (self.sql, self.current)  # type: ignore[method-assign]
        self.current: tuple[Any, ...] = tuple(params)

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        params = list(self.params)
        for i, (name, j) in self.places:
            params[i] = _as_parameter(self.connection, values[name] if j is None else values[name][j])
        return tuple(params)

    def run(self, values: Mapping[str, Any]) -> list[Any]:
        self.connection = self.compiler.connection = connections[self.alias]
        if self.qs.query.select_for_update and self.connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        if not self.sql:
            return []
        self.current = self.parameters(values)
        # the queryset's own iterable: model instances, or the tuples of values_list()
        return list(self.qs._iterable_class(self.qs))  # type: ignore[call-overload]


class CompiledQuery:
    """A query built by ``build`` and compiled once per thread, database and shape (module doc)."""

    def __init__(self, name: str, build: Callable[..., QuerySet[Any]]) -> None:
        self.name = name
        self.build = build
        self._local = threading.local()

    def rows(self, shape: Mapping[str, Hashable] | None = None, **values: Any) -> list[Any]:
        """The rows the queryset ``build(**shape, **values)`` gives: model instances, or tuples for a
        ``values_list()``. A tuple value's length is part of the shape."""
        shape = shape or {}
        if any(isinstance(v, int) and not _INT64[0] <= v <= _INT64[1] for _slot, v in _slots(values)):
            return []  # no integer column holds it (Django, too, answers no rows without asking)
        key = (tuple(sorted(shape.items())), _signature(values), settings.TIME_ZONE)
        cache: dict[tuple[Any, ...], _Compiled] = self._local.__dict__.setdefault("cache", {})
        compiled = cache.get(key)
        if compiled is None or compiled.vendor != connections[compiled.alias].vendor:
            builds = []
            for which in (0, 1):
                stand_ins = [
                    (slot, _stand_in(slot[0], i, v, which)) for i, (slot, v) in enumerate(_slots(values))
                ]
                given: dict[str, Any] = {name: () for name, v in values.items() if v == ()}
                for (name, j), stand_in in stand_ins:
                    given[name] = stand_in if j is None else (*given.get(name, ()), stand_in)
                builds.append((self.build(**shape, **given), stand_ins))
            compiled = cache[key] = _Compiled(builds)
        if getattr(settings, "PREPAY_CHECK_COMPILED_SQL", False):
            self._check(compiled, shape, values)
        return compiled.run(values)

    def _check(self, compiled: _Compiled, shape: Mapping[str, Hashable], values: Mapping[str, Any]) -> None:
        fresh = self.build(**shape, **values)
        sql, params = _compile(fresh.query.get_compiler(using=fresh.db))
        expected = compiled.parameters(values) if compiled.sql else ()
        if (fresh.db, sql, tuple(params)) != (compiled.alias, compiled.sql, expected):
            raise AssertionError(
                f"compiled query {self.name!r} differs from a fresh build: its builder reads something "
                f"besides its shape and values\ncached: {compiled.sql}\nfresh:  {sql}"
            )
