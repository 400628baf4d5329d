"""The reversals and refunds report: who asked, who approved, when, how much and how the money went
back (void at the counter, refund by finance, agent float); filters, exports, roles and scope."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from prepay.customers.choices import AccountMode
from prepay.reports.exports import HEADER_ROW
from prepay.vending.actions import (
    do_approve_reversal,
    do_close_shift,
    do_reject_reversal,
    do_request_refund,
    do_request_reversal,
    do_vend,
)

URL = reverse("reports:report", args=["reversals"])
SALES = reverse("reports:report", args=["sales"])


def sell(shop: Any, key: str, amount: str, account: Any = None) -> Any:
    return do_vend(
        account=account or shop.account,
        actor=shop.world.cashier,
        point=shop.point,
        idempotency_key=key,
        amount=amount,
    )


def ask(shop: Any, vend: Any) -> Any:
    return do_request_reversal(vend=vend, actor=shop.world.cashier, reason="typo", token_entered=False)


@pytest.fixture
def book(shop: Any) -> Any:
    """A void (approved in the open shift), a refund by finance (after the close), a balance refund,
    a rejected reversal and one awaiting approval, all at site A1 today."""
    w = shop.world
    void = do_approve_reversal(reversal=ask(shop, sell(shop, "v", "100.00")), actor=w.finance)
    late_sale = sell(shop, "l", "40.00")
    rejected = ask(shop, sell(shop, "x", "5.00"))
    do_reject_reversal(reversal=rejected, actor=w.admin, note="no")
    remote = shop.sts_account(mode=AccountMode.REMOTE)
    sell(shop, "r", "60.00", account=remote)
    waiting = ask(shop, sell(shop, "w", "7.00"))
    do_close_shift(shift=shop.shift, actor=w.cashier, declared={"cash": "200.00"})
    late = do_approve_reversal(reversal=ask(shop, late_sale), actor=w.finance)
    refund = do_request_refund(account=remote, amount="25.00", actor=w.clerk, reason="moving out")
    do_approve_reversal(reversal=refund, actor=w.admin)
    return {"void": void, "late": late, "rejected": rejected, "waiting": waiting, "refund": refund}


def rows(page: Any) -> dict[int, dict[str, Any]]:
    return {r["pk"]: r for r in page.context["data"].rows}


class ReversalsReportTestCase:
    def test_it_says_who_asked_who_decided_and_how_the_money_went_back(self, client, book, shop):
        client.force_login(shop.world.finance)
        page = client.get(URL)
        assert page.status_code == 200
        found = rows(page)
        void, late, refund = found[book["void"].pk], found[book["late"].pk], found[book["refund"].pk]
        assert (void["how"], void["paid"], void["requested_by"], void["decided_by"]) == (
            "Void: paid back at the counter",
            Decimal("100.00"),
            "cashier_a1",
            "finance_a",
        )
        assert (late["how"], late["paid"], late["method"]) == (
            "Refund paid by finance",
            Decimal("40.00"),
            "Cash",
        )
        assert (refund["how"], refund["kind"], refund["decided_by"]) == (
            "Refund paid by finance",
            "Refund (退费)",
            "admin_a",
        )
        assert (
            found[book["rejected"].pk]["paid"] is None and found[book["rejected"].pk]["status"] == "Rejected"
        )
        waiting = found[book["waiting"].pk]
        assert (waiting["status"], waiting["how"], waiting["decided_by"]) == ("Awaiting approval", "", "")
        assert late["reverses"] and late["receipt"] and void["requested_at"] <= void["decided_at"]
        totals = page.context["data"].totals
        assert totals["paid"] == Decimal("165.00") and totals["amount"] == Decimal("177.00")

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"how": "void"}, {"void"}),
            ({"how": "finance"}, {"late", "refund"}),
            ({"kind": "refund"}, {"refund"}),
            ({"status": "requested"}, {"waiting"}),
            ({"status": "rejected"}, {"rejected"}),
            ({"how": "agent_float"}, set()),
        ],
    )
    def test_it_filters(self, client, book, shop, params, expected):
        client.force_login(shop.world.finance)
        page = client.get(URL, params)
        assert page.status_code == 200
        assert set(rows(page)) == {book[k].pk for k in expected}

    def test_it_agrees_with_the_sales_detail(self, client, book, shop):
        client.force_login(shop.world.finance)
        paid = client.get(URL, {"kind": "reversal", "status": "approved"}).context["data"].totals["paid"]
        detail = client.get(SALES).context["data"].rows
        assert paid == -sum(r["amount"] for r in detail if r["pk"] < 0) == Decimal("140.00")

    def test_it_exports_to_excel_and_pdf(self, client, book, shop):
        client.force_login(shop.world.finance)
        xlsx = client.get(URL, {"export": "xlsx"})
        ws = load_workbook(io.BytesIO(xlsx.content)).active
        headers = [ws.cell(row=HEADER_ROW, column=c).value for c in range(1, ws.max_column + 1)]
        paid = headers.index("Paid back") + 1
        last = ws.max_row
        assert ws.cell(row=last, column=1).value == "Total"
        assert Decimal(str(ws.cell(row=last, column=paid).value)) == Decimal("165.00")
        assert ws.cell(row=last, column=paid).number_format == "#,##0.00"
        pdf = client.get(URL, {"export": "pdf"})
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        zh = client.get(URL, {"export": "xlsx"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
        ws = load_workbook(io.BytesIO(zh.content)).active
        assert "退回方式" in [ws.cell(row=HEADER_ROW, column=c).value for c in range(1, ws.max_column + 1)]

    def test_it_refuses_a_bad_filter(self, client, book, shop):
        client.force_login(shop.world.finance)
        assert client.get(URL, {"how": "cheque"}).status_code == 400
        assert client.get(URL, {"how": "cheque", "export": "xlsx"}).status_code == 400

    @pytest.mark.parametrize("role", ["cashier", "clerk"])
    def test_it_refuses_roles_without_reports_view(self, client, book, shop, role):
        client.force_login(getattr(shop.world, role))
        assert client.get(URL).status_code == 403
        assert client.get(URL, {"export": "pdf"}).status_code == 403

    def test_it_shows_an_outsider_nothing(self, client, book, shop):
        from tests import factories as f

        outsider = f.user(memberships=[(shop.world.b1.group, None, "finance")])
        client.force_login(outsider)
        assert rows(client.get(URL)) == {}
        assert client.get(URL, {"site": shop.world.a1.site.pk}).status_code == 400

    def test_it_shows_site_staff_only_their_site(self, client, book, shop):
        client.force_login(shop.world.auditor)
        assert len(rows(client.get(URL))) == 5
        from tests import factories as f

        a2_auditor = f.user(memberships=[(shop.world.a1.group, shop.world.a2.site, "auditor")])
        client.force_login(a2_auditor)
        assert rows(client.get(URL)) == {}
