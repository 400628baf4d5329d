"""Builders of import files for the tests (CSV in several encodings, XLSX via openpyxl)."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook

from prepay.audit.models import AuditEvent
from prepay.customers.models import Account, Building, Customer, Unit
from prepay.meters.models import Meter


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def counts() -> dict[str, int]:
    """Rows of everything an import may write, to prove a refused import changed nothing."""
    return {m.__name__: m.objects.count() for m in (Building, Unit, Customer, Account, Meter, AuditEvent)}


UNIT_HEADER = ["site_code", "building_code", "building_name", "unit_number", "floor", "area_m2"]
CUSTOMER_HEADER = [
    "site_code",
    "customer_number",
    "name",
    "customer_type_code",
    "phone",
    "id_number",
    "email",
    "address",
    "building_code",
    "unit_number",
    "utility",
    "mode",
    "billing",
]
METER_HEADER = [
    "site_code",
    "serial",
    "meter_model_code",
    "ct_ratio",
    "pt_ratio",
    "drn",
    "supply_group_code",
    "tariff_index",
    "key_revision",
    "key_type",
    "encryption_algorithm",
    "base_date",
    "protocol",
    "comm_address",
]
