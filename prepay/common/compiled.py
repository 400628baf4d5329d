"""Hot queries whose SQL Django builds and compiles once per process.

Building a queryset with subqueries and compiling it to SQL costs Django far more Python than the
database needs to answer it: a sale's state (``vending.actions._sale_state``, six subqueries) took
about 17 ms to build and compile and 3 ms to run on PostgreSQL. A :class:`CompiledQuery` builds its
queryset once per thread, database and *shape*, with stand-in values for its parameters, compiles
it, notes where each stand-in landed among the SQL's parameters, and from then on runs that SQL with
the call's values in their places. Rows come back through Django's own iterable, with the same
converters, related rows and annotations as the queryset would give.

Rules for a builder (``build(**shape, **values)``):

- ``values`` are the query's parameters: ints and strings, each a parameter of the SQL. A value the
  builder does not pass into the query as a parameter is refused when it is first compiled.
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
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import ModelIterable
from django.db.transaction import TransactionManagementError

#: stand-ins for parameters: values no query is asked about (above any id this installation makes,
#: below PostgreSQL's bigint limit; text no one types)
_INT_BASE = 9_100_000_000_000_000_000
_TEXT = "\u2983compiled-parameter-{}\u2984"


def _stand_in(name: str, index: int, value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(
            f"compiled query parameter {name!r} is {type(value).__name__}: only int and str values are "
            "parameters; put anything else in the shape"
        )
    return _INT_BASE + index if isinstance(value, int) else _TEXT.format(index)


class _Compiled:
    """One shape's SQL on one database in one thread: the queryset, its compiler and the places of
    the values among the parameters."""

    def __init__(self, qs: QuerySet[Any], stand_ins: dict[str, object]) -> None:
        # the database is the one the router names now: a shape's query always goes to one database
        # (writes, or reads the router never moves)
        self.alias = qs.db
        self.vendor = connections[self.alias].vendor
        compiler = qs.query.get_compiler(using=self.alias)
        sql, params = compiler.as_sql()
        places: list[tuple[int, str]] = []
        for name, stand_in in stand_ins.items():
            found = [i for i, p in enumerate(params) if type(p) is type(stand_in) and p == stand_in]
            if not found or str(stand_in) in sql:
                raise ValueError(f"compiled query value {name!r} is not (only) a parameter of its SQL")
            places += [(i, name) for i in found]
        self.qs, self.compiler, self.sql, self.params, self.places = qs, compiler, sql, list(params), places
        # the queryset's iterable asks its query for a compiler: it gets this one, which answers with
        # the compiled SQL and the call's parameters instead of compiling again
        qs.query.get_compiler = lambda *a, **k: compiler  # type: ignore[method-assign]
        compiler.as_sql = lambda *a, **k: (self.sql, self.current)  # type: ignore[method-assign]
        self.current: tuple[Any, ...] = tuple(params)

    def parameters(self, values: dict[str, Any]) -> tuple[Any, ...]:
        params = list(self.params)
        for i, name in self.places:
            params[i] = values[name]
        return tuple(params)

    def run(self, values: dict[str, Any]) -> list[Any]:
        connection = connections[self.alias]
        if self.qs.query.select_for_update and connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        self.compiler.connection = connection
        self.current = self.parameters(values)
        return list(ModelIterable(self.qs))


class CompiledQuery:
    """A query built by ``build`` and compiled once per thread, database and shape (module doc)."""

    def __init__(self, name: str, build: Callable[..., QuerySet[Any]]) -> None:
        self.name = name
        self.build = build
        self._local = threading.local()

    def rows(self, shape: Mapping[str, Hashable] | None = None, **values: Any) -> list[Any]:
        """The model instances the queryset ``build(**shape, **values)`` gives."""
        shape = shape or {}
        key = (
            tuple(sorted(shape.items())),
            tuple((name, type(v)) for name, v in sorted(values.items())),
            settings.TIME_ZONE,
        )
        cache: dict[tuple[Any, ...], _Compiled] = self._local.__dict__.setdefault("cache", {})
        compiled = cache.get(key)
        if compiled is None or compiled.vendor != connections[compiled.alias].vendor:
            stand_ins = {name: _stand_in(name, i, v) for i, (name, v) in enumerate(sorted(values.items()))}
            compiled = cache[key] = _Compiled(self.build(**shape, **stand_ins), stand_ins)
        if getattr(settings, "PREPAY_CHECK_COMPILED_SQL", False):
            self._check(compiled, shape, values)
        return compiled.run(values)

    def _check(self, compiled: _Compiled, shape: Mapping[str, Hashable], values: dict[str, Any]) -> None:
        fresh = self.build(**shape, **values)
        sql, params = fresh.query.get_compiler(using=fresh.db).as_sql()
        if (fresh.db, sql, tuple(params)) != (compiled.alias, compiled.sql, compiled.parameters(values)):
            raise AssertionError(
                f"compiled query {self.name!r} differs from a fresh build: its builder reads something "
                f"besides its shape and values\ncached: {compiled.sql}\nfresh:  {sql}"
            )
