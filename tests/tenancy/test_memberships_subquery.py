"""A query that reads a user can bring the user's memberships along (``memberships_subquery``):
the same rows ``_memberships`` reads, so the reach computed from them is the same."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from prepay.tenancy.choices import Role
from prepay.tenancy.memberships import memberships_subquery
from prepay.tenancy.scoping import _memberships, forget, keep_memberships, reach
from tests import factories as f

User = get_user_model()


def _read(user):
    forget(user)
    return sorted(_memberships(user), key=repr)


def _brought(user):
    row = User.objects.annotate(m=memberships_subquery("pk")).get(pk=user.pk)
    keep_memberships(row, row.m)
    with CaptureQueriesContext(connection) as q:
        rows = sorted(_memberships(row), key=repr)
    assert not q.captured_queries  # kept: nothing more to read
    return row, rows


class MembershipsSubqueryTestCase:
    def test_it_brings_the_rows_memberships_reads(self, world):
        many = f.user(
            "many",
            memberships=[
                (world.a1.group, None, Role.FINANCE),
                (world.a1.group, world.a1.site, Role.CASHIER),
                (world.a1.group, world.a2.site, Role.CLERK),
                (world.b1.group, world.b1.site, Role.AUDITOR),
            ],
        )
        none = f.user("none")
        for user in (many, none, world.admin, world.cashier, world.clerk_b):
            row, rows = _brought(user)
            assert rows == _read(user), user.username
            for capability in ("view", "vend.sell", "account.lifecycle", "reports.view"):
                assert reach(row, capability) == reach(user, capability), (user.username, capability)
        assert _brought(none)[1] == []
        assert len(_brought(many)[1]) == 4

    def test_kept_memberships_replace_a_reach_computed_before(self, world):
        user = world.cashier
        assert reach(user, "vend.sell").site_ids  # computed and cached from the cashier's rows
        keep_memberships(user, [])
        assert not reach(user, "vend.sell").site_ids and not reach(user, "vend.sell").all
