"""The few SQL spellings that differ between PostgreSQL and SQLite, and parameter adaptation.

Raw SQL in this app is written once with these helpers. Parameters go through :func:`params`: on
SQLite aware datetimes become the naive-UTC text Django stores (a raw cursor would otherwise write
``+00:00`` and compare as text wrongly); PostgreSQL takes them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection


@dataclass(frozen=True)
class Dialect:
    vendor: str

    @property
    def pg(self) -> bool:
        return self.vendor == "postgresql"

    def epoch(self, col: str) -> str:
        """Whole epoch seconds of a timestamp column (fractions truncated)."""
        if self.pg:
            return f"CAST(floor(extract(epoch FROM {col})) AS bigint)"
        return f"CAST(strftime('%%s', {col}) AS INTEGER)"

    def json_text(self, col: str, key: str) -> str:
        if self.pg:
            return f"({col} ->> '{key}')"
        return f"json_extract({col}, '$.{key}')"

    def double(self, expr: str) -> str:
        return f"CAST({expr} AS {'double precision' if self.pg else 'REAL'})"

    def timestamp(self, param: str) -> str:
        return f"CAST(%({param})s AS timestamptz)" if self.pg else f"%({param})s"

    def date(self, param: str) -> str:
        return f"CAST(%({param})s AS date)" if self.pg else f"%({param})s"

    def weekday(self, col: str) -> str:
        """ISO weekday 1 (Monday) … 7 of a date column."""
        if self.pg:
            return f"CAST(extract(isodow FROM {col}) AS integer)"
        return f"((CAST(strftime('%%w', {col}) AS INTEGER) + 6) %% 7 + 1)"


def dialect() -> Dialect:
    return Dialect(connection.vendor)


def params(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` adapted for a raw cursor of the current connection."""
    ops = connection.ops
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, datetime):
            out[key] = ops.adapt_datetimefield_value(value)
        elif isinstance(value, date):
            out[key] = ops.adapt_datefield_value(value)
        else:
            out[key] = value
    return out


def capacity_sql(meter: str, d: Dialect) -> str:
    """The register range of ``meter`` in stored units (10**digits × 1000), digits from
    ``comm_params.register_digits`` (default 6, as billing reads them)."""
    digits = f"COALESCE(CAST({d.json_text(f'{meter}.comm_params', 'register_digits')} AS INTEGER), 6)"
    cases = " ".join(f"WHEN {n} THEN {10**n * 1000}" for n in range(1, 13))
    return f"(CASE {digits} {cases} ELSE {10**6 * 1000} END)"
