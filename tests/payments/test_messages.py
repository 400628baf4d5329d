"""The purchase message after an online sale: queued in the sale's transaction to the customer's
phone and e-mail through the site's channels, in the customer's language, with the token in groups
of four; nothing for a customer without an address."""

from __future__ import annotations

from prepay.notify.models import Channel, Notification


def _sold(pay):
    order = pay.order("50.00")
    pay.post(*pay.signed(order))
    order.refresh_from_db()
    return order


class PurchaseMessageTestCase:
    def test_it_queues_the_token_by_sms_and_email_in_the_customers_language(self, pay):
        w = pay.shop.world.a1
        Channel.objects.create(
            group=w.group, site=w.site, kind="sms", name="SMS", config={"url": "http://127.0.0.1:9/"}
        )
        Channel.objects.create(group=w.group, kind="email", name="Mail", config={})
        Channel.objects.create(
            group=w.group, kind="webhook", name="Hook", config={"url": "http://127.0.0.1:9/"}
        )
        customer = pay.shop.account.customer
        customer.phone, customer.email, customer.language = "13800000000", "a@b.cn", "zh-hans"
        customer.save()
        order = _sold(pay)
        token = order.vend.tokens.get().token
        sent = list(Notification.objects.filter(key="purchase").order_by("pk"))
        assert [n.recipient for n in sent] == ["13800000000", "a@b.cn"] and all(
            n.status == "queued" for n in sent
        )
        grouped = " ".join(token[i : i + 4] for i in range(0, 20, 4))
        assert grouped in sent[0].body and order.number in sent[0].body and "电表" in sent[0].body

    def test_a_customer_without_an_address_gets_none(self, pay):
        w = pay.shop.world.a1
        Channel.objects.create(
            group=w.group, site=w.site, kind="sms", name="SMS", config={"url": "http://127.0.0.1:9/"}
        )
        _sold(pay)
        assert Notification.objects.filter(key="purchase").count() == 0
