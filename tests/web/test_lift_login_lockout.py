"""do_lift_login_lockout: forget failed sign-ins so a locked-out user name or address may try again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client

from prepay.audit.models import AuditEvent
from prepay.web.actions import do_lift_login_lockout
from prepay.web.lockouts import locked_until
from tests import factories as f
from tests.helpers import refused


@pytest.fixture(autouse=True)
def small_limits(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    settings.PREPAY_LOGIN_FAILURES_PER_ADDRESS = 10
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def lock(username: str, address: str = "10.0.0.1") -> int:
    client = Client(REMOTE_ADDR=address)
    for _ in range(3):
        client.post("/login/", {"username": username, "password": "wrong"})
    return AccessAttempt.objects.get(username=username).pk


class LiftLoginLockoutTestCase:
    def test_it_lifts_a_managed_users_lockout_with_an_audit_event(self, world):
        pk = lock("clerk_a1")
        assert locked_until("clerk_a1", "10.0.0.1") is not None
        assert do_lift_login_lockout(attempt_ids=[pk], actor=world.admin) == 1
        assert locked_until("clerk_a1", "10.0.0.1") is None
        event = AuditEvent.objects.get(verb="login.unlock")
        assert event.after == {"username": "clerk_a1", "address": "10.0.0.1", "failures": 3}

    def test_it_refuses_an_empty_selection(self, world):
        lock("clerk_a1")
        refused("nothing_selected", do_lift_login_lockout, attempt_ids=[], actor=world.admin)
        assert AccessAttempt.objects.count() == 1

    def test_it_refuses_a_role_without_staff_management(self, world):
        pk = lock("clerk_a1")
        refused("forbidden", do_lift_login_lockout, attempt_ids=[pk], actor=world.finance)
        refused("forbidden", do_lift_login_lockout, attempt_ids=[pk], actor=world.clerk)
        assert AccessAttempt.objects.count() == 1

    def test_it_refuses_an_outsider_and_lifts_nothing_of_a_mixed_selection(self, world):
        ours, theirs = lock("clerk_a1"), lock("clerk_b1", "10.0.0.2")
        admin_b = f.user("admin_b", memberships=[(world.b1.group, None, "admin")])
        refused("forbidden", do_lift_login_lockout, attempt_ids=[ours], actor=admin_b)
        refused("forbidden", do_lift_login_lockout, attempt_ids=[ours, theirs], actor=world.admin)
        assert AccessAttempt.objects.count() == 2

    def test_only_a_platform_operator_lifts_a_name_that_is_nobodys(self, world):
        pk = lock("nobody-here")
        refused("forbidden", do_lift_login_lockout, attempt_ids=[pk], actor=world.admin)
        root = f.user("root", is_superuser=True)
        assert do_lift_login_lockout(attempt_ids=[pk], actor=root) == 1
        assert AuditEvent.objects.get(verb="login.unlock").group_id is None

    def test_a_site_admin_does_not_lift_a_group_wide_users_lockout(self, world):
        site_admin = f.user("admin_a1", memberships=[(world.a1.group, world.a1.site, "admin")])
        group_wide = lock("finance_a")
        refused("forbidden", do_lift_login_lockout, attempt_ids=[group_wide], actor=site_admin)
        assert do_lift_login_lockout(attempt_ids=[lock("clerk_a1", "10.0.0.3")], actor=site_admin) == 1

    def test_rows_already_gone_are_skipped(self, world):
        pk = lock("clerk_a1")
        assert do_lift_login_lockout(attempt_ids=[pk], actor=world.admin) == 1
        assert do_lift_login_lockout(attempt_ids=[pk], actor=world.admin) == 0
