"""Notifications: rendered in zh-Hans or English, delivered over a real HTTP socket (SMS gateway and
webhook), by email, and recorded with their delivery status."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.core import mail
from django.db import transaction

from prepay.notify.actions import deliver_pending, queue_notification
from prepay.notify.channels import sign
from prepay.notify.models import Channel, Notification, Status
from tests import factories as f


class _Gateway(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], bytes]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, dict(self.headers), body))
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "msg-1"}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[str, type[_Gateway]]]:
    handler = type("Handler", (_Gateway,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    server.server_close()


def queue(acc: Any, key: str = "level1", **kw: Any) -> list[Notification]:
    with transaction.atomic():
        return queue_notification(
            acc, key, {"balance": "18.24", "threshold": "20.00"}, idempotency_key="t1", **kw
        )


class DeliveryTestCase:
    def test_it_sends_sms_and_webhook_over_http_and_records_status(self, world: Any, gateway: Any) -> None:
        url, handler = gateway
        w = world.a1
        acc = f.account(w, customer=f.customer(w, phone="13800000000", name="王五"))
        Channel.objects.create(
            group=w.group, site=w.site, kind="sms", name="SMS", config={"url": url + "/sms", "token": "t0k"}
        )
        Channel.objects.create(
            group=w.group, kind="webhook", name="Hook", config={"url": url + "/hook", "secret": "s3"}
        )
        sent = queue(acc, language="zh-hans")
        assert len(sent) == 2 and "余额为18.24元" in sent[0].body and "王五" in sent[0].body
        assert queue(acc) == sent  # the same key records nothing new
        assert deliver_pending() == 2
        paths = {p: (h, b) for p, h, b in handler.received}
        headers, body = paths["/sms"]
        assert headers["Authorization"] == "Bearer t0k" and json.loads(body)["phone"] == "13800000000"
        headers, body = paths["/hook"]
        assert headers["X-Prepay-Signature"] == sign("s3", body)
        assert set(Notification.objects.values_list("status", "provider_ref")) == {(Status.SENT, "msg-1")}

    def test_it_records_a_failure_and_retries_server_errors(self, world: Any, gateway: Any) -> None:
        url, handler = gateway
        handler.status = 503
        w = world.a1
        acc = f.account(w, customer=f.customer(w, phone="13800000000"))
        Channel.objects.create(group=w.group, kind="sms", name="SMS", config={"url": url})
        [n] = queue(acc)
        deliver_pending()
        n.refresh_from_db()
        assert (n.status, n.attempts, n.error) == (Status.QUEUED, 1, "HTTP 503")
        Channel.objects.update(config={"url": "ftp://nowhere"})
        Notification.objects.update(next_attempt_at=n.created_at)
        deliver_pending()
        n.refresh_from_db()
        assert n.status == Status.FAILED and "not an http" in n.error

    def test_it_emails_in_english_and_records_no_channel(self, world: Any) -> None:
        w = world.a1
        acc = f.account(w, customer=f.customer(w, email="a@example.com"))
        [n] = queue(acc, key="zero", language="en")
        assert n.status == Status.NO_CHANNEL and "Supply is cut" in n.body
        Channel.objects.create(
            group=w.group, kind="email", name="Mail", config={"from": "billing@example.com"}
        )
        with transaction.atomic():
            queue_notification(acc, "zero", {"balance": "-1.00"}, idempotency_key="t2", language="en")
        deliver_pending()
        assert (
            mail.outbox[0].to == ["a@example.com"]
            and mail.outbox[0].subject == "Credit exhausted: supply cut"
        )


class CustomerLanguageTestCase:
    """A customer's own language wins over the platform's default (English in the tests)."""

    def test_a_customer_who_reads_chinese_gets_chinese(self, world: Any) -> None:
        acc = f.account(world.a1, customer=f.customer(world.a1, name="王五", language="zh-hans"))
        [n] = queue(acc)
        assert n.language == "zh-hans" and "余额为18.24元" in n.body

    def test_a_customer_without_a_language_gets_the_platforms(self, world: Any) -> None:
        [n] = queue(f.account(world.a1))
        assert n.language == "en" and "18.24" in n.body and "余额" not in n.body

    def test_a_language_asked_for_explicitly_still_wins(self, world: Any) -> None:
        acc = f.account(world.a1, customer=f.customer(world.a1, language="zh-hans"))
        [n] = queue(acc, language="en")
        assert n.language == "en"
