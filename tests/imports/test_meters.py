"""Importing meters into stock."""

from __future__ import annotations

from typing import Any

from prepay.audit.models import AuditEvent
from prepay.imports.importer import run_import
from prepay.meters.models import Meter
from tests.imports.helpers import METER_HEADER, counts, csv_bytes, xlsx_bytes


def row(serial: str, **kw: Any) -> list[Any]:
    values = {
        "site_code": "a1",
        "serial": serial,
        "meter_model_code": "dds",
        "ct_ratio": "1",
        "pt_ratio": "1",
        "drn": "",
        "supply_group_code": "",
        "tariff_index": "",
        "key_revision": "",
        "key_type": "",
        "encryption_algorithm": "",
        "base_date": "",
        "protocol": "",
        "comm_address": "",
    } | kw
    return [values[k] for k in METER_HEADER]


class MeterImportTestCase:
    def test_it_imports_meters_from_csv(self, world: Any) -> None:
        data = csv_bytes(
            [
                METER_HEADER,
                row(
                    "S1",
                    drn="01234567890",
                    supply_group_code="123456",
                    tariff_index="1",
                    key_revision="2",
                    key_type="2",
                    encryption_algorithm="EA09",
                    base_date="2014",
                    protocol="DL/T 645",
                    comm_address="000000000001",
                ),
                row("S2", meter_model_code="dts", ct_ratio="50", pt_ratio="100"),
            ]
        )
        report = run_import("meters", data, actor=world.clerk)
        assert report.ok, report.errors
        s1 = Meter.objects.get(serial="S1")
        assert (s1.drn, s1.supply_group_code, s1.tariff_index, s1.key_revision) == (
            "01234567890",
            "123456",
            "01",
            2,
        )
        assert (s1.encryption_algorithm, s1.base_date, s1.protocol) == ("09", 2014, "dlt645")
        assert s1.comm_params == {"address": "000000000001"} and s1.status == "in_stock"
        assert Meter.objects.get(serial="S2").multiplier == 5000
        assert AuditEvent.objects.filter(verb="meter.register").count() == 2

    def test_it_imports_meters_from_xlsx_with_numbers_as_cells(self, world: Any) -> None:
        header = [
            "站点编码",
            "表号",
            "表型编码",
            "CT变比",
            "PT变比",
            "DRN",
            "供电组代码",
            "费率索引",
            "密钥版本",
            "密钥类型",
            "加密算法",
            "基准日期",
            "通信协议",
            "通信地址",
        ]
        data = xlsx_bytes(
            [
                header,
                [
                    "a1",
                    240100000001,
                    "dts",
                    200,
                    1,
                    240100000001,
                    12345,
                    1,
                    1,
                    2,
                    7,
                    1993,
                    "modbus_tcp",
                    "10.0.0.5",
                ],
            ]
        )
        report = run_import("meters", data, actor=world.admin)
        assert report.ok, report.errors
        m = Meter.objects.get(serial="240100000001")
        assert (m.ct_ratio, m.supply_group_code, m.tariff_index, m.encryption_algorithm) == (
            200,
            "012345",
            "01",
            "07",
        )

    def test_it_reports_every_bad_meter_row_and_writes_nothing(self, world: Any) -> None:
        before = counts()
        existing = world.a1.meters[0].serial
        data = csv_bytes(
            [
                METER_HEADER,
                row("S1"),  # good
                row("S2", ct_ratio="0"),  # CT ratio 0
                row("S3", pt_ratio="1.5", meter_model_code="nope"),  # not whole; unknown model
                row(existing),  # already registered
                row("S1"),  # same serial as row 2
                row(
                    "S6",
                    drn="12AB",
                    key_revision="10",
                    encryption_algorithm="11",
                    base_date="2000",
                    protocol="x25",
                ),
                row("S7", comm_address="000000000001"),  # address without protocol
                row("S8", site_code="b1"),  # clerk_a1 cannot see site b1
            ]
        )
        report = run_import("meters", data, actor=world.clerk)
        assert report.bad_rows == [3, 4, 5, 6, 7, 8, 9]
        cols = {(e.row, e.column) for e in report.errors}
        assert {
            (3, "ct_ratio"),
            (4, "pt_ratio"),
            (4, "meter_model_code"),
            (5, "serial"),
            (6, "serial"),
            (7, "drn"),
            (7, "key_revision"),
            (7, "encryption_algorithm"),
            (7, "base_date"),
            (7, "protocol"),
            (8, "protocol"),
            (9, "site_code"),
        } <= cols
        assert "at least 1" in next(e.message for e in report.errors if e.row == 3)
        assert counts() == before

    def test_it_gives_empty_sts_cells_the_meter_defaults(self, world: Any) -> None:
        assert run_import("meters", csv_bytes([METER_HEADER, row("S1")]), actor=world.clerk).ok
        m = Meter.objects.get(serial="S1")
        for name in ("key_revision", "key_type", "encryption_algorithm", "base_date"):
            assert getattr(m, name) == Meter._meta.get_field(name).default
