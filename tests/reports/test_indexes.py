"""Reports read the ledger by period: the range on ``created_at`` has an index to use (issue 17)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from prepay.vending.models import LedgerEntry


@pytest.mark.django_db
class LedgerIndexTestCase:
    def test_the_ledger_has_an_index_on_its_time(self) -> None:
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, LedgerEntry._meta.db_table)
        assert any(c["index"] and c["columns"] == ["created_at"] for c in constraints.values())

    @pytest.mark.skipif(
        connection.vendor != "sqlite", reason="the plan is read from SQLite's EXPLAIN QUERY PLAN"
    )
    def test_a_period_of_the_ledger_is_read_through_it(self) -> None:
        now = timezone.now()
        qs = LedgerEntry.objects.filter(created_at__gte=now - timedelta(days=30), created_at__lt=now)
        sql, params = qs.values("amount").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "created_at" in plan and "INDEX" in plan.upper(), plan
