"""Rows of one table read inside another query, as one JSON array (issue 17: a sale reads what it
needs in fewer statements): :func:`rows_subquery` in the SQL, :func:`rows_from_json` back to model
instances equal to what the ORM reads from the same rows."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from django.core.exceptions import FieldError
from django.db import models
from django.db.models import Aggregate, F, Func, JSONField, QuerySet, Subquery, Value
from django.db.models.functions import Cast, JSONObject

from prepay.common.fields import ScaledDecimalField

M = TypeVar("M", bound=models.Model)

#: the kinds of column :func:`rows_from_json` turns back exactly (JSON keeps them as they are stored)
_PLAIN = (
    models.AutoField,
    models.BigAutoField,
    models.IntegerField,  # and ScaledDecimalField (a BIGINT of minor units), ForeignKey ids
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.DateField,
    models.JSONField,
    models.ForeignKey,
)


class JSONRows(Aggregate):
    """The rows' values as one JSON array: ``jsonb_agg`` on PostgreSQL, ``json_group_array`` on
    SQLite."""

    function = "JSONB_AGG"
    output_field = JSONField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra)


class _AsJSON(Func):
    """A JSON column as a JSON value inside a JSON object (SQLite keeps JSON as text: ``json()``)."""

    output_field = JSONField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return compiler.compile(self.source_expressions[0])

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="JSON", **extra)


def _fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    fields = list(model._meta.concrete_fields)
    for f in fields:
        custom = isinstance(f, models.JSONField) and (f.encoder is not None or f.decoder is not None)
        if not isinstance(f, _PLAIN) or isinstance(f, models.DateTimeField) or custom:
            raise TypeError(f"{model.__name__}.{f.name}: {type(f).__name__} is not read back from JSON")
    return fields


def rows_subquery(rows: QuerySet[Any], *marks: str) -> Subquery:
    """Every row of ``rows`` (its model's columns, and the annotations named in ``marks``) as one
    JSON array, for a query that reads something else: ``[]`` or None when there are none."""
    values: dict[str, Any] = {
        f.attname: _AsJSON(F(f.attname)) if isinstance(f, models.JSONField) else F(f.attname)
        for f in _fields(rows.model)
    }
    values.update({mark: _mark(rows, mark) for mark in marks})
    grouped = rows.order_by().annotate(_one=Value(1)).values("_one")  # one group: every row
    return Subquery(
        grouped.annotate(rows=JSONRows(JSONObject(**values))).values("rows"), output_field=JSONField()
    )


def _mark(rows: QuerySet[Any], mark: str) -> Any:
    """Annotation ``mark`` as a value of the JSON object, cast to its type. Bound on the server
    (PostgreSQL, ``prepay.common.pgconfig``), a parameter as an argument of ``jsonb_build_object`` has
    no type PostgreSQL can infer, whether it is a ``Value`` or wrapped in another expression; the cast
    gives it one, and costs nothing for a mark that is typed already."""
    expression = rows.query.annotations.get(mark)
    if expression is None:
        raise TypeError(f"{mark!r} is not an annotation of the {rows.model.__name__} rows")
    try:
        output_field = expression.output_field
    except FieldError as exc:  # Value(None), or a mix of types Django cannot resolve
        raise TypeError(
            f"annotation {mark!r} has no type to read back from JSON ({exc}): give it an output_field"
        ) from exc
    return Cast(F(mark), output_field=output_field)


def rows_from_json(model: type[M], data: Any, *marks: str, db: str = "default") -> list[M]:
    """The instances :func:`rows_subquery` read (``data``: its value) from database ``db``, each with
    its ``marks`` set, as the ORM would read them: scaled decimals, dates and booleans converted by
    their fields."""
    if isinstance(data, str):  # a driver that does not decode JSON
        data = json.loads(data)
    fields = _fields(model)
    out = []
    for item in data or []:
        row = model(**{f.attname: _value(f, item[f.attname]) for f in fields})
        row._state.adding = False
        row._state.db = db
        for mark in marks:
            setattr(row, mark, item[mark])
        out.append(row)
    return out


def _value(field: models.Field[Any, Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, ScaledDecimalField):
        return field.from_db_value(value, None, None)
    if isinstance(field, models.BooleanField):
        return bool(value)
    if isinstance(field, models.DateField):
        return field.to_python(value)
    return value
