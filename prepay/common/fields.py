"""Model fields that keep exact Decimals as integers in the database.

SQLite stores NUMERIC as a float, so money and energy never go to the database as NUMERIC: a
:class:`ScaledDecimalField` is a BIGINT column holding the value times 10**places.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models

from prepay.domain.money import ENERGY_PLACES, MONEY_PLACES, QuantityError, from_minor, to_minor

if TYPE_CHECKING:
    _Base = models.Field[Any, Any]
else:
    _Base = models.BigIntegerField


class ScaledDecimalField(_Base):
    """A Decimal with a fixed number of places, stored as an integer of minor units."""

    places = MONEY_PLACES

    def __init__(self, *args: Any, places: int | None = None, **kwargs: Any) -> None:
        if places is not None:
            self.places = places
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.places != type(self).places:
            kwargs["places"] = self.places
        return name, path, args, kwargs

    def from_db_value(self, value: int | None, expression: Any, connection: Any) -> Decimal | None:
        return None if value is None else from_minor(value, self.places)

    def to_python(self, value: Any) -> Decimal | None:
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value).quantize(Decimal(1).scaleb(-self.places))
        try:
            return from_minor(to_minor(value, self.places), self.places)
        except QuantityError as exc:
            raise ValidationError(str(exc), code="invalid") from exc

    def get_prep_value(self, value: Any) -> int | None:
        if value is None:
            return None
        if hasattr(value, "resolve_expression"):
            return value  # type: ignore[no-any-return]
        try:
            return to_minor(value, self.places)
        except QuantityError as exc:
            raise ValidationError(str(exc), code="invalid") from exc

    def formfield(self, **kwargs: Any) -> Any:
        from prepay.common.forms import PlainDecimalField  # forms import translations; fields load first

        defaults: dict[str, Any] = {"form_class": PlainDecimalField, "decimal_places": self.places}
        defaults.update(kwargs)
        return models.Field.formfield(self, **defaults)


class MoneyField(ScaledDecimalField):
    """Money in yuan with two places, stored as fen."""

    places = MONEY_PLACES


class EnergyField(ScaledDecimalField):
    """Energy (kWh) or volume (m³) with three places, stored as Wh / litres."""

    places = ENERGY_PLACES


_M = TypeVar("_M", bound=models.Model)


def as_stored(instance: _M) -> _M:
    """``instance`` (just written) with its scaled decimals and JSON values as a read of its row
    would give them (``12.3`` in an energy field reads back ``12.300``; a tuple in JSON, a list), so
    an answer built from the written object is the same as one built from the row read again."""
    for f in instance._meta.concrete_fields:
        value = getattr(instance, f.attname)
        if value is None or hasattr(value, "resolve_expression"):
            continue
        if isinstance(f, ScaledDecimalField):
            setattr(instance, f.attname, from_minor(to_minor(value, f.places), f.places))
        elif isinstance(f, models.JSONField):
            setattr(instance, f.attname, json.loads(json.dumps(value, cls=f.encoder), cls=f.decoder))
    return instance
