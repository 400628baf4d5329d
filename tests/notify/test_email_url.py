"""``PREPAY_EMAIL_URL`` → Django's mail settings, and a notification really written by the file backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from prepay.notify.actions import deliver_pending, queue_notification, queue_staff_notification
from prepay.notify.mailconfig import email_settings
from prepay.notify.models import Channel, Status
from tests import factories as f

VAR = Path("/srv/prepay/var")
SMTP = "django.core.mail.backends.smtp.EmailBackend"


class EmailUrlTestCase:
    def test_it_reads_smtp_with_starttls_a_sign_in_and_a_sender(self):
        s = email_settings(
            "smtp://prepay%40example.cn:p%40ss%3Aword@mail.example.cn:587?tls=1&from=bills@example.cn",
            var_dir=VAR,
        )
        assert s["EMAIL_BACKEND"] == SMTP
        assert (s["EMAIL_HOST"], s["EMAIL_PORT"], s["EMAIL_USE_TLS"], s["EMAIL_USE_SSL"]) == (
            "mail.example.cn",
            587,
            True,
            False,
        )
        assert (s["EMAIL_HOST_USER"], s["EMAIL_HOST_PASSWORD"]) == ("prepay@example.cn", "p@ss:word")
        assert s["DEFAULT_FROM_EMAIL"] == s["SERVER_EMAIL"] == "bills@example.cn"

    def test_it_reads_smtps_and_plain_smtp_with_their_default_ports(self):
        s = email_settings("smtps://u:p@mail.example.cn?timeout=30", var_dir=VAR)
        assert (s["EMAIL_PORT"], s["EMAIL_USE_SSL"], s["EMAIL_USE_TLS"], s["EMAIL_TIMEOUT"]) == (
            465,
            True,
            False,
            30,
        )
        s = email_settings("smtp://mail.lan", var_dir=VAR)
        assert (s["EMAIL_PORT"], s["EMAIL_HOST_USER"], s["EMAIL_USE_TLS"]) == (25, "", False)
        assert email_settings("smtp://mail.lan?ssl=1", var_dir=VAR)["EMAIL_PORT"] == 465

    @pytest.mark.parametrize(
        ("url", "backend"),
        [
            ("console://", "django.core.mail.backends.console.EmailBackend"),
            ("memory://", "django.core.mail.backends.locmem.EmailBackend"),
            ("off://", "django.core.mail.backends.dummy.EmailBackend"),
        ],
    )
    def test_it_reads_the_local_backends(self, url, backend):
        assert email_settings(url, var_dir=VAR)["EMAIL_BACKEND"] == backend

    def test_it_keeps_mail_as_files_under_the_data_folder_by_default(self):
        for url in (None, "", "  "):
            s = email_settings(url, var_dir=VAR)
            assert s["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
            assert s["EMAIL_FILE_PATH"] == "/srv/prepay/var/mail"
        assert email_settings("file:///tmp/outbox", var_dir=VAR)["EMAIL_FILE_PATH"] == "/tmp/outbox"
        assert (
            email_settings("file://spool/mail", var_dir=VAR)["EMAIL_FILE_PATH"]
            == "/srv/prepay/var/spool/mail"
        )

    @pytest.mark.parametrize(
        ("url", "says"),
        [
            ("imap://mail.example.cn", "unknown scheme 'imap'"),
            ("smtp://", "needs a host"),
            ("smtp://mail.example.cn:port", "port is not a number"),
            ("smtps://mail.example.cn?tls=1", "not both"),
            ("smtp://mail.example.cn?from=nobody", "is not an e-mail address"),
            ("console://?timeout=soon", "whole number of seconds"),
        ],
    )
    def test_it_refuses_a_url_it_cannot_use_without_showing_the_password(self, url, says):
        with pytest.raises(ImproperlyConfigured) as info:
            email_settings(url.replace("mail.example.cn", "u:secret@mail.example.cn"), var_dir=VAR)
        assert says in str(info.value) and "secret" not in str(info.value)

    def test_settings_take_it_from_the_environment(self, tmp_path):
        env = os.environ | {
            "PREPAY_EMAIL_URL": "smtp://u:pw@mail.example.cn:2525?tls=1&from=ops@example.cn",
            "PREPAY_VAR_DIR": str(tmp_path),
            "PREPAY_SECRET_KEY": "x" * 50,
        }
        code = (
            "import json, prepay.settings as s; print(json.dumps([s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT,"
            " s.EMAIL_HOST_USER, s.EMAIL_HOST_PASSWORD, s.EMAIL_USE_TLS, s.DEFAULT_FROM_EMAIL]))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert json.loads(out.stdout) == [SMTP, "mail.example.cn", 2525, "u", "pw", True, "ops@example.cn"]


class FileBackendDeliveryTestCase:
    @pytest.fixture
    def outbox(self, settings: Any, tmp_path: Path) -> Path:
        for name, value in email_settings(
            f"file://{tmp_path}/outbox?from=prepay@a1.example.cn", var_dir=tmp_path
        ).items():
            setattr(settings, name, value)
        return tmp_path / "outbox"

    def written(self, outbox: Path) -> str:
        return "".join(p.read_text() for p in sorted(outbox.iterdir()))

    def test_it_writes_a_customers_low_balance_e_mail_to_a_file(self, world, outbox):
        w = world.a1
        acc = f.account(w, customer=f.customer(w, email="wang@example.cn", name="王五"))
        Channel.objects.create(group=w.group, kind="email", name="mail", config={})
        with transaction.atomic():
            [n] = queue_notification(
                acc, "level1", {"balance": "18.24", "threshold": "20.00"}, idempotency_key="m1"
            )
        assert deliver_pending() == 1
        n.refresh_from_db()
        assert n.status == Status.SENT
        text = self.written(outbox)
        assert "To: wang@example.cn" in text and "From: prepay@a1.example.cn" in text
        assert "Subject: Low balance" in text

    def test_it_writes_a_clerks_alert_through_the_platform_backend(self, world, outbox):
        world.clerk.email = "clerk@a1.example.cn"
        world.clerk.save()
        with transaction.atomic():
            [n] = queue_staff_notification(
                world.a1.site,
                "command_failed",
                {"meter": "M1", "what": "Supply restore", "attempts": "10", "error": "timeout", "when": "—"},
                idempotency_key="s1",
            )
        assert n.channel is None and n.user == world.clerk
        deliver_pending()
        n.refresh_from_db()
        assert n.status == Status.SENT
        text = self.written(outbox)
        assert "To: clerk@a1.example.cn" in text and "Remote command failed: Supply restore" in text
