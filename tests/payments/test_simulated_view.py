"""The simulated wallet page: shows the order, Pay sends a WeChat Pay-signed notification through the
real handler (CSRF-protected form), and it exists only with the simulator switched on."""

from __future__ import annotations

from django.test import Client

from prepay.payments.choices import OrderStatus
from prepay.payments.models import PaymentNotification


class SimulatedWalletViewTestCase:
    def test_pay_sells_through_the_signed_notification(self, pay):
        order = pay.order("20.00")
        client = Client()
        page = client.get(f"/payments/sim/{order.number}/").content.decode()
        assert "¥20.00" in page and "no real money" in page
        r = client.post(f"/payments/sim/{order.number}/")
        assert r.status_code == 302
        order.refresh_from_db()
        assert order.status == OrderStatus.SOLD and PaymentNotification.objects.get().outcome == "sold"
        assert 'id="simulated-pay"' not in client.get(f"/payments/sim/{order.number}/").content.decode()
        client.post(f"/payments/sim/{order.number}/")  # paying again does nothing
        assert PaymentNotification.objects.count() == 1

    def test_it_needs_the_csrf_token(self, pay):
        order = pay.order("20.00")
        assert Client(enforce_csrf_checks=True).post(f"/payments/sim/{order.number}/").status_code == 403

    def test_it_does_not_exist_without_the_simulator(self, pay, settings):
        order = pay.order("20.00")
        settings.PREPAY_PAYMENTS_SIMULATOR = False
        assert Client().get(f"/payments/sim/{order.number}/").status_code == 404
        assert Client().get("/payments/sim/PNOSUCH/").status_code == 404
