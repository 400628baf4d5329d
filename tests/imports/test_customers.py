"""Importing customers, optionally opening an account at a unit (开户)."""

from __future__ import annotations

from typing import Any

from prepay.audit.models import AuditEvent
from prepay.customers.models import Account, Customer
from prepay.imports.importer import run_import
from tests import factories as f
from tests.imports.helpers import CUSTOMER_HEADER, counts, csv_bytes, xlsx_bytes


def row(number: str, *, unit: str = "", utility: str = "", **kw: str) -> list[str]:
    values = {
        "site_code": "a1",
        "customer_number": number,
        "name": f"Customer {number}",
        "customer_type_code": "res",
        "phone": "13800000000",
        "id_number": "",
        "email": "",
        "address": "",
        "building_code": "B1" if unit else "",
        "unit_number": unit,
        "utility": utility,
        "mode": "",
        "billing": "",
    } | kw
    return [values[k] for k in CUSTOMER_HEADER]


class CustomerImportTestCase:
    def test_it_imports_customers_and_opens_accounts_from_csv(self, world: Any) -> None:
        data = csv_bytes(
            [
                CUSTOMER_HEADER,
                row("C1", unit="101"),
                row("C2", unit="101", utility="water", mode="remote", billing="postpaid"),
                row("C3"),
            ]
        )
        report = run_import("customers", data, actor=world.clerk)
        assert report.ok, report.errors
        assert report.created == {"customer": 3, "account": 2}
        water = Account.objects.get(customer__number="C2")
        assert (water.utility, water.mode, water.billing, water.unit) == (
            "water",
            "remote",
            "postpaid",
            world.a1.units[0],
        )
        assert not Account.objects.filter(customer__number="C3").exists()
        assert AuditEvent.objects.filter(verb="customer.create").count() == 3
        assert AuditEvent.objects.filter(verb="account.open").count() == 2

    def test_it_imports_from_xlsx_with_chinese_headers_and_values(self, world: Any) -> None:
        header = [
            "站点编码",
            "用户编号",
            "用户名称",
            "用户类型编码",
            "电话",
            "证件号码",
            "电子邮箱",
            "地址",
            "楼栋编码",
            "房号",
            "能源类型",
            "费控方式",
            "计费方式",
        ]
        data = xlsx_bytes(
            [
                header,
                [
                    "a1",
                    "C10",
                    "张三",
                    "res",
                    13912345678,
                    "",
                    "zs@example.com",
                    "1号楼101",
                    "B1",
                    102,
                    "电",
                    "远程",
                    "预付费",
                ],
            ]
        )
        report = run_import("customers", data, actor=world.clerk)
        assert report.ok, report.errors
        c = Customer.objects.get(number="C10")
        assert (c.name, c.phone) == ("张三", "13912345678")
        assert Account.objects.get(customer=c).mode == "remote"

    def test_it_reports_every_bad_customer_row_and_writes_nothing(self, world: Any) -> None:
        taken = f.customer(world.a1, number="OLD1")
        f.account(world.a1, unit=world.a1.units[1], customer=taken)
        before = counts()
        data = csv_bytes(
            [
                CUSTOMER_HEADER,
                row("C1", unit="101"),  # good
                row("OLD1"),  # number exists
                row("C1"),  # duplicate of row 2
                row("C4", customer_type_code="nope"),  # unknown type
                row("C5", unit="999"),  # unknown unit
                row("C6", unit="102"),  # unit already has an electricity account
                row("C7", unit="101"),  # same unit as row 2 in the file
                row("C8", email="not-an-email", utility="gas"),  # bad email, unknown utility
                row("C9", mode="remote"),  # account field without unit
                row("", name=""),  # missing required values
            ]
        )
        report = run_import("customers", data, actor=world.clerk)
        assert report.bad_rows == [3, 4, 5, 6, 7, 8, 9, 10, 11]
        cols = {(e.row, e.column) for e in report.errors}
        assert {
            (3, "customer_number"),
            (4, "customer_number"),
            (5, "customer_type_code"),
            (6, "unit_number"),
            (7, "unit_number"),
            (8, "unit_number"),
            (9, "email"),
            (9, "utility"),
            (10, "mode"),
            (11, "customer_number"),
            (11, "name"),
        } <= cols
        assert counts() == before

    def test_it_refuses_an_admin_without_the_clerk_role(self, world: Any) -> None:
        before = counts()
        report = run_import("customers", csv_bytes([CUSTOMER_HEADER, row("C1")]), actor=world.admin)
        assert report.bad_rows == [2] and report.errors[0].column == "site_code"
        assert counts() == before


class CustomerLanguageTestCase:
    def test_it_reads_the_language_notifications_are_written_in(self, world: Any) -> None:
        header = [*CUSTOMER_HEADER, "通知语言"]
        data = csv_bytes([header, [*row("L1"), "English"], [*row("L2"), "中文"], [*row("L3"), ""]])
        report = run_import("customers", data, actor=world.clerk)
        assert report.ok, report.errors
        languages = dict(Customer.objects.filter(number__startswith="L").values_list("number", "language"))
        assert languages == {"L1": "en", "L2": "zh-hans", "L3": ""}

    def test_it_refuses_a_language_it_cannot_write_and_writes_nothing(self, world: Any) -> None:
        before = counts()
        data = csv_bytes([[*CUSTOMER_HEADER, "language"], [*row("L9"), "klingon"]])
        report = run_import("customers", data, actor=world.clerk)
        assert report.bad_rows == [2] and report.errors[0].column == "language"
        assert "klingon" in str(report.errors[0].message) and "zh-hans" in str(report.errors[0].message)
        assert counts() == before
