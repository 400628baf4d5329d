"""``queue_staff_notification``: the site's clerks are told (e-mail, the site's webhooks), nobody else."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db import transaction

from prepay.notify.actions import deliver_pending, queue_staff_notification
from prepay.notify.models import Channel, Notification, Status
from prepay.tenancy.choices import Role
from tests import factories as f

CONTEXT = {"meter": "M9", "what": "Supply restore", "attempts": "10", "error": "timeout", "when": "15:30"}


def tell(site: Any, key: str = "command_failed", **kw: Any) -> list[Notification]:
    with transaction.atomic():
        return queue_staff_notification(site, key, CONTEXT, idempotency_key=kw.pop("key", "k1"), **kw)


@pytest.fixture
def mailboxes(world: Any) -> Any:
    for u in (world.clerk, world.clerk_a2, world.clerk_b, world.cashier, world.admin, world.auditor):
        u.email = f"{u.username}@example.cn"
        u.save()
    return world


class QueueStaffNotificationTestCase:
    def test_it_mails_the_sites_clerks_and_group_wide_clerks_only(self, mailboxes):
        w = mailboxes
        boss = f.user("clerk_ga", memberships=[(w.a1.group, None, Role.CLERK)], email="boss@example.cn")
        f.user(
            "gone",
            memberships=[(w.a1.group, w.a1.site, Role.CLERK)],
            email="gone@example.cn",
            is_active=False,
        )
        sent = tell(w.a1.site)
        assert {n.user for n in sent} == {w.clerk, boss}  # no cashier, admin, auditor, other site or group
        assert all(n.channel is None and n.status == Status.QUEUED for n in sent)
        assert deliver_pending() == 2
        assert sorted(m.to[0] for m in mail.outbox) == ["boss@example.cn", "clerk_a1@example.cn"]
        assert mail.outbox[0].subject == "Remote command failed: Supply restore"
        assert "Site a1" in mail.outbox[0].body

    def test_it_uses_the_sites_mail_channel_and_webhooks_but_no_sms(self, mailboxes):
        w = mailboxes
        box = Channel.objects.create(
            group=w.a1.group, kind="email", name="mail", config={"from": "ops@a1.cn"}
        )
        hook = Channel.objects.create(
            group=w.a1.group, site=w.a1.site, kind="webhook", name="wecom", config={"url": "http://x"}
        )
        Channel.objects.create(group=w.a1.group, kind="sms", name="sms", config={"url": "http://y"})
        sent = tell(w.a1.site)
        assert {(n.user, n.channel, n.recipient) for n in sent} == {
            (w.clerk, box, "clerk_a1@example.cn"),
            (None, hook, "http://x"),
        }

    def test_it_speaks_the_platforms_language(self, mailboxes, settings):
        settings.LANGUAGE_CODE = "zh-hans"
        [n] = tell(mailboxes.a1.site)
        assert n.language == "zh-hans" and n.subject == "远程命令失败：Supply restore"

    def test_it_records_once_per_key(self, mailboxes):
        first = tell(mailboxes.a1.site)
        assert tell(mailboxes.a1.site) == first
        assert Notification.objects.count() == 1

    def test_it_records_the_message_when_nobody_can_be_reached(self, world):
        [n] = tell(world.a1.site)  # no e-mail addresses, no channel
        assert n.status == Status.NO_CHANNEL and n.user is None
        assert deliver_pending() == 0
