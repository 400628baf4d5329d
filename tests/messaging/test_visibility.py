"""MessageQuerySet.for_user: who reads a site, group-wide and person message; never outside its sites."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from prepay.messaging.actions import do_send_message
from prepay.messaging.models import Message
from prepay.tenancy.models import Membership

ALL = ("admin", "clerk", "cashier", "finance", "auditor", "clerk_a2", "clerk_b")


def readers(world: Any, message: Any) -> set[str]:
    return {
        name for name in ALL if Message.objects.for_user(getattr(world, name)).filter(pk=message.pk).exists()
    }


class VisibilityTestCase:
    def test_a_site_message_reaches_its_site_and_group_level_staff(self, talk: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.cashier, site=w.a1.site, body="A1 only")
        assert readers(w, m) == {"admin", "clerk", "cashier", "finance", "auditor"}

    def test_a_group_message_reaches_the_whole_group_only(self, talk: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.finance, group=w.a1.group, body="all of A")
        assert readers(w, m) == {"admin", "clerk", "cashier", "finance", "auditor", "clerk_a2"}

    def test_a_person_message_reaches_the_two_people_only(self, talk: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.cashier, recipient=w.finance, account=talk.account, body="private")
        assert readers(w, m) == {"cashier", "finance"}

    def test_leaving_a_site_hides_its_messages(self, talk: Any) -> None:
        w = talk.world
        site_msg = do_send_message(actor=w.clerk, site=w.a1.site, body="site")
        private = do_send_message(actor=w.clerk, recipient=w.cashier, body="private")
        Membership.objects.filter(user=w.cashier).delete()
        assert not Message.objects.for_user(w.cashier).filter(pk__in=[site_msg.pk, private.pk]).exists()

    def test_anonymous_and_inactive_users_read_nothing(self, talk: Any) -> None:
        from django.contrib.auth.models import AnonymousUser

        w = talk.world
        do_send_message(actor=w.clerk, site=w.a1.site, body="site")
        get_user_model().objects.filter(pk=w.cashier.pk).update(is_active=False)
        w.cashier.refresh_from_db()
        assert not Message.objects.for_user(AnonymousUser()).exists()
        assert not Message.objects.for_user(w.cashier).exists()

    @pytest.mark.parametrize("audience", ["site", "group", "person"])
    def test_a_platform_operator_reads_every_group_but_not_private_notes(
        self, talk: Any, audience: str
    ) -> None:
        w = talk.world
        root = get_user_model().objects.create_superuser("root", password="pw-Secret-123")
        kw: dict[str, Any] = {
            "site": {"site": w.b1.site},
            "group": {"group": w.a1.group},
            "person": {"recipient": w.clerk},
        }[audience]
        m = do_send_message(actor=w.admin if audience != "site" else w.clerk_b, body="x", **kw)
        assert Message.objects.for_user(root).filter(pk=m.pk).exists() == (audience != "person")
