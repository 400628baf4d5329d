"""The back office for online payments: finance's queue of paid orders not sold, with Sell now and
Refund; notifications; statements imported from a file, their mismatches and the Excel export.
Scoped: another group's rows are 404, the wrong role gets 403."""

from __future__ import annotations

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from prepay.payments.choices import OrderStatus
from prepay.payments.models import Statement
from prepay.tenancy.models import Site
from prepay.vending.models import Vend
from tests import factories as f
from tests.payments.statements import wechat_bill, wechat_row


def _client(user) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c


def _waiting(pay):
    order = pay.order("50.00")
    Site.objects.filter(pk=pay.shop.world.a1.site.pk).update(max_sale_amount=Decimal("10.00"))
    pay.post(*pay.signed(order))
    order.refresh_from_db()
    return order


class PaymentAdminTestCase:
    def test_finance_sees_the_queue_and_sells_an_order(self, pay):
        order = _waiting(pay)
        c = _client(pay.shop.world.finance)
        page = c.get("/admin/payments/paymentorder/?status__exact=attention").content.decode()
        assert order.number in page
        change = c.get(f"/admin/payments/paymentorder/{order.pk}/change/").content.decode()
        assert f"/admin/payments/paymentorder/{order.pk}/sell/" in change and "Refund" in change
        refused = c.post(
            f"/admin/payments/paymentorder/{order.pk}/sell/", {"confirm": "on", "idempotency_key": "a1"}
        )
        assert refused.status_code == 400 and "largest sale allowed" in refused.content.decode()
        Site.objects.filter(pk=pay.shop.world.a1.site.pk).update(max_sale_amount=Decimal("50000.00"))
        r = c.post(
            f"/admin/payments/paymentorder/{order.pk}/sell/", {"confirm": "on", "idempotency_key": "a1"}
        )
        assert r.status_code == 302
        order.refresh_from_db()
        assert order.status == OrderStatus.SOLD and Vend.objects.count() == 1

    def test_finance_refunds_an_order(self, pay):
        order = _waiting(pay)
        c = _client(pay.shop.world.admin)
        r = c.post(
            f"/admin/payments/paymentorder/{order.pk}/refund/",
            {"reason": "limit", "reference": "", "idempotency_key": "a2"},
        )
        assert r.status_code == 302
        order.refresh_from_db()
        assert order.status == OrderStatus.REFUNDED

    def test_a_clerk_sees_the_order_but_no_tools_and_cannot_decide(self, pay):
        order = _waiting(pay)
        c = _client(pay.shop.world.clerk)
        change = c.get(f"/admin/payments/paymentorder/{order.pk}/change/").content.decode()
        assert order.number in change and "/sell/" not in change
        assert c.post(f"/admin/payments/paymentorder/{order.pk}/sell/", {"confirm": "on"}).status_code == 403

    def test_another_groups_staff_get_404(self, pay):
        order = _waiting(pay)
        outsider = f.user(memberships=[(pay.shop.world.b1.group, None, "finance")])
        c = _client(outsider)
        assert c.get(f"/admin/payments/paymentorder/{order.pk}/change/").status_code == 404
        assert c.get(f"/admin/payments/paymentorder/{order.pk}/sell/").status_code == 404
        assert order.number not in c.get("/admin/payments/paymentorder/").content.decode()

    def test_finance_imports_a_statement_and_exports_its_mismatches(self, pay, clock):
        c = _client(pay.shop.world.finance)
        assert 'id="statement-import"' in c.get("/admin/payments/statement/").content.decode()
        data = wechat_bill(wechat_row("2026-06-12 09:30:00", "4208888", "PUNKNOWN", "9.00"))
        upload = SimpleUploadedFile("bill.csv", data, content_type="text/csv")
        r = c.post(
            "/admin/payments/statement/import/",
            {"provider": pay.provider.pk, "day": "2026-06-12", "file": upload},
        )
        statement = Statement.objects.get()
        assert r.status_code == 302 and r["Location"].endswith(f"/{statement.pk}/mismatches/")
        page = c.get(r["Location"]).content.decode()
        assert "PUNKNOWN" in page and 'data-kind="missing_in_prepay"' in page
        export = c.get(f"/admin/payments/statement/{statement.pk}/export/")
        assert export.status_code == 200 and export["Content-Type"].startswith(
            "application/vnd.openxmlformats"
        )

    def test_a_bad_statement_file_is_refused_with_its_rows(self, pay):
        c = _client(pay.shop.world.finance)
        upload = SimpleUploadedFile("bill.csv", b"nonsense", content_type="text/csv")
        r = c.post(
            "/admin/payments/statement/import/",
            {"provider": pay.provider.pk, "day": "2026-06-12", "file": upload},
        )
        assert r.status_code == 400 and "not a WeChat Pay trade bill" in r.content.decode()
        assert Statement.objects.count() == 0

    def test_a_clerk_cannot_import(self, pay):
        c = _client(pay.shop.world.clerk)
        assert c.get("/admin/payments/statement/import/").status_code == 403

    def test_providers_are_for_admins_and_show_no_secret(self, pay):
        page = (
            _client(pay.shop.world.admin)
            .get(f"/admin/payments/paymentprovider/{pay.provider.pk}/change/")
            .content.decode()
        )
        assert "Simulated Pay" in page and "PRIVATE KEY" not in page and "apiv3" not in page
        assert _client(pay.shop.world.finance).get("/admin/payments/paymentprovider/").status_code == 403
