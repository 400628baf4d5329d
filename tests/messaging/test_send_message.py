"""do_send_message: to a site, to the whole group, to a person, about an account; every refusal."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import translation

from prepay.audit.models import AuditEvent
from prepay.common.errors import ActionError, NotFound, PermissionDenied
from prepay.messaging.actions import do_send_message
from prepay.messaging.choices import Audience
from prepay.messaging.models import MAX_BODY, Message
from prepay.tenancy.choices import Role
from tests import factories as f
from tests.messaging.conftest import nothing_written


def refused(exc: type[ActionError], code: str, **kwargs: Any) -> ActionError:
    with nothing_written(), pytest.raises(exc) as info:
        do_send_message(**kwargs)
    assert info.value.code == code, info.value.message
    assert str(info.value.message)
    return info.value


class SendMessageTestCase:
    def test_it_sends_to_a_site_and_audits_without_the_body(self, talk: Any, clock: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.clerk, site=w.a1.site, body="  Meter room key is at the desk.\r\n ")
        assert (m.audience, m.group_id, m.site_id, m.recipient_id) == (
            Audience.SITE,
            w.a1.group.pk,
            w.a1.site.pk,
            None,
        )
        assert m.body == "Meter room key is at the desk." and m.sender == w.clerk
        event = AuditEvent.objects.get(verb="message.send")
        assert (event.object_id, event.group_id, event.site_id) == (str(m.pk), w.a1.group.pk, w.a1.site.pk)
        assert event.after["sha256"] == hashlib.sha256(m.body.encode()).hexdigest()
        assert "Meter room" not in str(event.after) and "Meter room" not in event.object_repr

    def test_it_sends_to_a_person(self, talk: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.cashier, recipient=w.clerk, body="Can you call customer 12?")
        assert (m.audience, m.group_id, m.site_id, m.recipient) == (
            Audience.PERSON,
            w.a1.group.pk,
            None,
            w.clerk,
        )

    def test_it_sends_group_wide_from_group_level_staff(self, talk: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.admin, group=w.a1.group, body="Tariffs change on Monday.")
        assert (m.audience, m.group_id, m.site_id) == (Audience.GROUP, w.a1.group.pk, None)

    def test_it_sends_about_an_account_to_its_site_or_a_person(self, talk: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.cashier, site=w.a1.site, account=talk.account, body="Card unreadable.")
        assert m.account == talk.account and talk.account.messages.get() == m
        p = do_send_message(actor=w.cashier, recipient=w.finance, account=talk.account, body="Refund?")
        assert (p.group_id, p.site_id, p.account) == (w.a1.group.pk, w.a1.site.pk, talk.account)

    def test_it_keeps_line_breaks_tabs_and_chinese(self, talk: Any) -> None:
        m = do_send_message(actor=talk.world.clerk, site=talk.world.a1.site, body="第一行\n\t第二行 ✓")
        assert m.body == "第一行\n\t第二行 ✓"

    @pytest.mark.parametrize("body", ["", "   ", "\r\n\t"])
    def test_it_refuses_an_empty_body(self, talk: Any, body: str) -> None:
        refused(ActionError, "empty", actor=talk.world.clerk, site=talk.world.a1.site, body=body)

    def test_it_refuses_an_empty_body_in_chinese(self, talk: Any) -> None:
        with translation.override("zh-hans"):
            err = refused(ActionError, "empty", actor=talk.world.clerk, site=talk.world.a1.site, body="")
        assert str(err.message) == "请先写消息：空消息不会发送。"

    @pytest.mark.parametrize("body", ["a\x00b", "bell\x07", "esc\x1b[31m", "c1\x85"])
    def test_it_refuses_control_characters(self, talk: Any, body: str) -> None:
        refused(ActionError, "control_characters", actor=talk.world.clerk, site=talk.world.a1.site, body=body)

    def test_it_refuses_a_body_over_the_limit(self, talk: Any) -> None:
        w = talk.world
        refused(ActionError, "too_long", actor=w.clerk, site=w.a1.site, body="x" * (MAX_BODY + 1))
        assert do_send_message(actor=w.clerk, site=w.a1.site, body="x" * MAX_BODY).body == "x" * MAX_BODY

    def test_it_refuses_no_audience_or_two(self, talk: Any) -> None:
        w = talk.world
        refused(ActionError, "no_audience", actor=w.admin, body="hi")
        refused(ActionError, "no_audience", actor=w.admin, body="hi", site=w.a1.site, recipient=w.clerk)

    def test_it_refuses_oneself(self, talk: Any) -> None:
        refused(ActionError, "to_self", actor=talk.world.clerk, recipient=talk.world.clerk, body="note")

    def test_it_refuses_the_whole_group_from_site_staff(self, talk: Any) -> None:
        err = refused(
            PermissionDenied, "forbidden", actor=talk.world.clerk, group=talk.world.a1.group, body="hi"
        )
        assert "group-wide staff" in str(err)

    def test_it_refuses_an_account_to_the_whole_group(self, talk: Any) -> None:
        w = talk.world
        refused(
            ActionError, "account_group_wide", actor=w.admin, group=w.a1.group, account=talk.account, body="x"
        )

    def test_it_refuses_an_account_to_another_site(self, talk: Any) -> None:
        w = talk.world
        refused(ActionError, "wrong_site", actor=w.admin, site=w.a2.site, account=talk.account, body="x")

    def test_it_refuses_a_person_who_may_not_see_the_account(self, talk: Any) -> None:
        w = talk.world
        err = refused(
            ActionError,
            "recipient_cannot_see",
            actor=w.admin,
            recipient=w.clerk_a2,
            account=talk.account,
            body="x",
        )
        assert talk.account.number in str(err)

    def test_it_refuses_a_role_less_user(self, talk: Any) -> None:
        nobody = f.user("nobody")
        refused(PermissionDenied, "forbidden", actor=nobody, recipient=talk.world.clerk, body="hi")

    def test_it_refuses_outsiders(self, talk: Any) -> None:
        w = talk.world
        # another site of the same group, another group's site, person and group
        refused(PermissionDenied, "forbidden", actor=w.clerk_a2, site=w.a1.site, body="hi")
        refused(PermissionDenied, "forbidden", actor=w.clerk, site=w.b1.site, body="hi")
        refused(PermissionDenied, "forbidden", actor=w.clerk, recipient=w.clerk_b, body="hi")
        refused(PermissionDenied, "forbidden", actor=w.admin, group=w.b1.group, body="hi")
        # site staff reach their site and group-level staff, not a colleague at another site
        refused(PermissionDenied, "forbidden", actor=w.clerk, recipient=w.clerk_a2, body="hi")
        assert do_send_message(actor=w.clerk_a2, recipient=w.admin, body="hi").recipient == w.admin

    def test_it_answers_not_found_for_an_account_outside_the_sites(self, talk: Any) -> None:
        w = talk.world
        refused(NotFound, "not_found", actor=w.clerk, site=w.a1.site, account=talk.account_b, body="x")
        refused(NotFound, "not_found", actor=w.clerk_a2, recipient=w.admin, account=talk.account, body="x")

    def test_it_refuses_an_inactive_recipient(self, talk: Any) -> None:
        gone = f.user(
            "gone", memberships=[(talk.world.a1.group, talk.world.a1.site, Role.CASHIER)], is_active=False
        )
        refused(PermissionDenied, "forbidden", actor=talk.world.clerk, recipient=gone, body="hi")

    def test_a_message_is_never_changed_or_deleted(self, talk: Any) -> None:
        m = do_send_message(actor=talk.world.clerk, site=talk.world.a1.site, body="kept")
        m.body = "changed"
        with pytest.raises(RuntimeError):
            m.save()
        with pytest.raises(RuntimeError):
            m.delete()
        with pytest.raises(RuntimeError):
            Message.objects.filter(pk=m.pk).delete()
        with pytest.raises(RuntimeError):
            Message.objects.filter(pk=m.pk).update(body="changed")
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:  # the trigger
            cursor.execute("UPDATE messaging_message SET body = 'changed' WHERE id = %s", [m.pk])
        assert Message.objects.get(pk=m.pk).body == "kept"
