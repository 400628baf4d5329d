"""The notification endpoint: only a genuine (signature-checked, fresh, our merchant's), paid,
amount-matching notification sells, once per order; everything else changes nothing or is queued for
finance, never lost."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from prepay.audit.models import AuditEvent
from prepay.customers.choices import AccountStatus
from prepay.customers.models import Account
from prepay.payments import crypto
from prepay.payments.choices import OrderStatus, Outcome
from prepay.payments.models import PaymentNotification, PaymentOrder
from prepay.tenancy.models import Site
from prepay.vending import ledger
from prepay.vending.models import Vend


def _nothing_changed(pay, order) -> None:
    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED and order.vend_id is None and order.provider_trade_no == ""
    assert Vend.objects.count() == 0 and PaymentNotification.objects.count() == 0


class NotifyViewTestCase:
    def test_it_sells_a_paid_order_once_and_answers_200(self, pay):
        order = pay.order("50.00")
        headers, body = pay.signed(order)
        r = pay.post(headers, body)
        assert r.status_code == 200 and r.content == b""
        order.refresh_from_db()
        vend = Vend.objects.get()
        assert (
            order.status == OrderStatus.SOLD and order.vend == vend and order.paid_amount == Decimal("50.00")
        )
        assert vend.amount == Decimal("50.00") and vend.method == "online" and vend.point == pay.point
        assert vend.reference == order.provider_trade_no and vend.idempotency_key == f"pay:{order.number}"
        assert vend.created_by == pay.provider.user and len(vend.tokens.all()) == 1
        assert AuditEvent.objects.filter(verb="payment.notify", after__outcome="sold").count() == 1

    def test_it_is_csrf_exempt_but_refuses_a_forged_signature(self, pay):
        order = pay.order()
        headers, body = pay.signed(order)
        forger = crypto.new_rsa_key()
        stamp, nonce = headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"]
        message = f"{stamp}\n{nonce}\n".encode() + body + b"\n"
        headers["Wechatpay-Signature"] = crypto.rsa_sign(forger, message)
        r = pay.post(headers, body)
        assert r.status_code == 401 and json.loads(r.content)["code"] == "FAIL"
        _nothing_changed(pay, order)

    def test_it_refuses_a_body_changed_after_signing(self, pay):
        order = pay.order("50.00")
        headers, body = pay.signed(order)
        envelope = json.loads(body)
        envelope["event_type"] = "TRANSACTION.SUCCESS "
        r = pay.post(headers, json.dumps(envelope).encode())
        assert r.status_code == 401
        _nothing_changed(pay, order)

    def test_it_refuses_unsigned_and_unknown_certificates(self, pay):
        order = pay.order()
        headers, body = pay.signed(order)
        assert pay.post({}, body).status_code == 401
        headers["Wechatpay-Serial"] = "ABCDEF"
        assert pay.post(headers, body).status_code == 401
        _nothing_changed(pay, order)

    def test_it_refuses_a_replay_older_than_five_minutes(self, pay, clock):
        order = pay.order()
        headers, body = pay.signed(order)
        clock.shift(timedelta(minutes=6))
        r = pay.post(headers, body)
        assert r.status_code == 400 and json.loads(r.content)["message"] == "stale"
        _nothing_changed(pay, order)

    def test_a_notification_sent_again_sells_nothing_more(self, pay):
        order = pay.order()
        headers, body = pay.signed(order)
        assert pay.post(headers, body).status_code == 200
        assert pay.post(headers, body).status_code == 200  # the very same request, replayed
        again = pay.wallet.notification(pay.wallet.transaction(order, transaction_id=order_trade(order)))
        assert pay.post(*again).status_code == 200  # WeChat Pay's retry, freshly signed
        assert Vend.objects.count() == 1
        outcomes = list(PaymentNotification.objects.order_by("pk").values_list("outcome", flat=True))
        assert outcomes == [Outcome.SOLD, Outcome.DUPLICATE, Outcome.DUPLICATE]
        assert ledger.balance_of(pay.shop.account) == ledger.balance_of(pay.shop.account.pk)

    def test_it_queues_a_wrong_amount_for_finance_and_sells_nothing(self, pay):
        order = pay.order("50.00")
        r = pay.post(*pay.signed(order, amount=Decimal("0.01")))
        assert r.status_code == 200  # received and recorded: the provider need not send it again
        order.refresh_from_db()
        assert order.status == OrderStatus.ATTENTION and order.problem_code == "amount_mismatch"
        assert order.paid_amount == Decimal("0.01") and Vend.objects.count() == 0
        assert PaymentNotification.objects.get().outcome == Outcome.AMOUNT_MISMATCH

    def test_a_state_that_is_not_paid_changes_nothing(self, pay):
        order = pay.order()
        r = pay.post(*pay.signed(order, state="NOTPAY"))
        assert r.status_code == 200
        order.refresh_from_db()
        assert order.status == OrderStatus.CREATED and Vend.objects.count() == 0
        assert PaymentNotification.objects.get().outcome == Outcome.NOT_PAID

    def test_out_of_order_notifications_are_harmless(self, pay):
        order = pay.order()
        assert pay.post(*pay.signed(order)).status_code == 200
        assert (
            pay.post(*pay.signed(order, state="CLOSED", transaction_id=order_trade(order))).status_code == 200
        )
        order.refresh_from_db()
        assert order.status == OrderStatus.SOLD and Vend.objects.count() == 1

    def test_a_payment_arriving_after_the_order_expired_still_sells(self, pay, clock):
        order = pay.order()
        clock.shift(timedelta(hours=3))
        assert pay.post(*pay.signed(order)).status_code == 200
        order.refresh_from_db()
        assert order.status == OrderStatus.SOLD

    def test_a_second_payment_of_a_paid_order_is_listed_not_sold(self, pay):
        order = pay.order()
        pay.post(*pay.signed(order))
        assert pay.post(*pay.signed(order, transaction_id="4200000000999")).status_code == 200
        assert Vend.objects.count() == 1
        assert PaymentNotification.objects.filter(outcome=Outcome.SECOND_PAYMENT).count() == 1

    def test_an_unknown_order_is_recorded_for_finance(self, pay):
        order = pay.order()
        headers, body = pay.wallet.notification({**pay.wallet.transaction(order), "out_trade_no": "PNOSUCH"})
        assert pay.post(headers, body).status_code == 200
        note = PaymentNotification.objects.get()
        assert note.outcome == Outcome.UNKNOWN_ORDER and note.order is None and Vend.objects.count() == 0

    def test_it_refuses_another_merchants_notification(self, pay):
        order = pay.order()
        resource = {**pay.wallet.transaction(order), "mchid": "1999999999"}
        r = pay.post(*pay.wallet.notification(resource))
        assert r.status_code == 400
        _nothing_changed(pay, order)

    def test_a_paid_order_of_an_account_closed_meanwhile_waits_for_finance(self, pay):
        order = pay.order()
        Account.objects.filter(pk=pay.shop.account.pk).update(status=AccountStatus.CLOSED)
        assert pay.post(*pay.signed(order)).status_code == 200
        order.refresh_from_db()
        assert order.status == OrderStatus.ATTENTION and order.problem_code == "account_closed"
        assert order.provider_trade_no and Vend.objects.count() == 0
        assert PaymentNotification.objects.get().outcome == Outcome.ATTENTION

    def test_a_paid_order_over_a_sale_limit_waits_for_finance(self, pay):
        order = pay.order("50.00")
        Site.objects.filter(pk=pay.shop.world.a1.site.pk).update(max_sale_amount=Decimal("10.00"))
        pay.post(*pay.signed(order))
        order.refresh_from_db()
        assert order.status == OrderStatus.ATTENTION and order.problem_code == "amount_too_large"

    def test_the_simulator_switched_off_sells_nothing(self, pay, settings):
        order = pay.order()
        settings.PREPAY_PAYMENTS_SIMULATOR = False
        assert pay.post(*pay.signed(order)).status_code == 400
        _nothing_changed(pay, order)

    def test_unreadable_credentials_answer_503_so_the_provider_sends_again(self, pay, monkeypatch):
        from prepay.tokens import keystore as ks

        order = pay.order()
        headers, body = pay.signed(order)
        monkeypatch.setattr(ks, "_store", ks.SoftwareKeyStore(ks.StoreKey(bytes(range(1, 33)))))
        r = pay.post(headers, body)
        assert r.status_code == 503 and json.loads(r.content)["message"] == "credentials_unreadable"
        _nothing_changed(pay, order)

    def test_an_unknown_provider_is_404_and_get_is_refused(self, pay):
        assert (
            pay.http.post("/payments/notify/999999/", data=b"{}", content_type="application/json").status_code
            == 404
        )
        assert pay.http.get(f"/payments/notify/{pay.provider.pk}/").status_code == 405


def order_trade(order: PaymentOrder) -> str:
    return PaymentOrder.objects.get(pk=order.pk).provider_trade_no
