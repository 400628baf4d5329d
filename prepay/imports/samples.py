"""Template files to start an import from: the header row and one example row.

Contract: with an ``actor``, the example row is built from the actor's own data (a site where they
may import, an existing building, customer type, meter model and a free unit, and numbers not yet
used), so the template imports as it is and shows real codes; without one it holds placeholders.
CSV templates are UTF-8 with a BOM so Excel shows Chinese headers correctly; XLSX cells are
formatted as text so Excel keeps leading zeros (DRN, supply group code, addresses). Both are written
through :mod:`prepay.common.spreadsheet`, so a value taken from the actor's data that starts like a
formula (a building named ``=…``, a unit ``-101``) is text: quote-prefixed in Excel (the value reads
back unchanged), with a leading ``'`` in CSV.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from prepay.common.spreadsheet import csv_writer, new_workbook, workbook_bytes, write_row
from prepay.customers.choices import AccountStatus, Utility
from prepay.customers.models import Account, Building, Customer, CustomerType, Unit
from prepay.imports.columns import COLUMNS, KINDS, headers
from prepay.meters.models import Meter, MeterModel
from prepay.tenancy.models import Site

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

PLACEHOLDERS: dict[str, dict[str, str]] = {
    "units": {
        "site_code": "SITE1",
        "building_code": "B1",
        "building_name": "Block 1",
        "unit_number": "101",
        "floor": "1",
        "area_m2": "88.50",
    },
    "customers": {
        "site_code": "SITE1",
        "customer_number": "C000001",
        "name": "Zhang San",
        "customer_type_code": "res",
        "phone": "13800000000",
        "id_number": "",
        "email": "",
        "address": "Block 1 Room 101",
        "language": "zh-hans",
        "building_code": "B1",
        "unit_number": "101",
        "utility": "electricity",
        "mode": "local",
        "billing": "prepaid",
    },
    "meters": {
        "site_code": "SITE1",
        "serial": "240100000001",
        "meter_model_code": "dds",
        "ct_ratio": "1",
        "pt_ratio": "1",
        "drn": "240100000001",
        "supply_group_code": "123456",
        "tariff_index": "01",
        "key_revision": "1",
        "key_type": "2",
        "encryption_algorithm": "07",
        "base_date": str(Meter._meta.get_field("base_date").default),
        "protocol": "dlt645",
        "comm_address": "240100000001",
    },
}


def _first_free(candidates: Callable[[int], str], taken: Callable[[str], bool]) -> str:
    for i in range(1, 10_000):
        value = candidates(i)
        if not taken(value):
            return value
    return candidates(10_000)


def _site_code(site: Site, actor: Any) -> str:
    ambiguous = Site.objects.for_user(actor, "import.run").filter(code=site.code).count() > 1
    return f"{site.group.code}/{site.code}" if ambiguous else site.code


def example_row(kind: str, actor: Any = None) -> dict[str, str]:
    """One example row of ``kind`` by column key (see the module contract)."""
    row = dict(PLACEHOLDERS[kind])
    site = (
        Site.objects.for_user(actor, "import.run")
        .select_related("group")
        .order_by("group__code", "code")
        .first()
        if actor
        else None
    )
    if site is None:
        return row
    row["site_code"] = _site_code(site, actor)
    if kind == "units":
        building = Building.objects.filter(site=site).order_by("code").first()
        if building is not None:
            row["building_code"], row["building_name"] = building.code, building.name
            row["unit_number"] = _first_free(
                lambda i: f"9{i:02d}", lambda n: Unit.objects.filter(building=building, number=n).exists()
            )
            row["floor"] = "9"
        else:
            row["building_code"] = _first_free(
                lambda i: f"B{i}", lambda c: Building.objects.filter(site=site, code=c).exists()
            )
    elif kind == "customers":
        ctype = CustomerType.objects.filter(group_id=site.group_id).order_by("code").first()
        if ctype is not None:
            row["customer_type_code"] = ctype.code
        row["customer_number"] = _first_free(
            lambda i: f"C9{i:05d}", lambda n: Customer.objects.filter(site=site, number=n).exists()
        )
        taken = (
            Account.objects.filter(site=site, utility=Utility.ELECTRICITY)
            .exclude(status=AccountStatus.CLOSED)
            .values("unit_id")
        )
        unit = (
            Unit.objects.filter(building__site=site)
            .exclude(pk__in=taken)
            .select_related("building")
            .order_by("building__code", "number")
            .first()
        )
        if unit is not None:
            row["building_code"], row["unit_number"] = unit.building.code, unit.number
            row["address"] = f"{unit.building.name} {unit.number}"
        else:
            for key in ("building_code", "unit_number", "utility", "mode", "billing"):
                row[key] = ""
    elif kind == "meters":
        model = MeterModel.objects.filter(group_id=site.group_id).order_by("code").first()
        if model is not None:
            row["meter_model_code"] = model.code
        serial = _first_free(
            lambda i: f"2401{i:08d}",
            lambda s: Meter.objects.filter(group_id=site.group_id, serial=s).exists(),
        )
        row["serial"] = row["drn"] = row["comm_address"] = serial
    return row


def template_bytes(kind: str, fmt: str, *, language: str = "en", actor: Any = None) -> bytes:
    """The template file of ``kind`` in ``fmt`` (csv or xlsx) with English or Chinese (``zh``) headers."""
    if kind not in KINDS or fmt not in FORMATS:
        raise ValueError(f"unknown template {kind}.{fmt}")
    head = headers(kind, language)
    example = example_row(kind, actor)
    values = [example.get(col.key, "") for col in COLUMNS[kind]]
    if fmt == "csv":
        out = io.StringIO(newline="")
        w = csv_writer(out, lineterminator="\r\n")
        w.writerow(head)
        w.writerow(values)
        return out.getvalue().encode("utf-8-sig")
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb, ws = new_workbook(kind)
    write_row(ws, 1, head)
    write_row(ws, 2, values)
    for i, text in enumerate(head, start=1):
        ws.cell(row=1, column=i).font = Font(bold=True)
        ws.cell(row=2, column=i).number_format = "@"
        ws.column_dimensions[get_column_letter(i)].width = max(12, len(text) * 2 + 2)
    return workbook_bytes(wb)
