from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from prepay.audit.actions import record_event
from prepay.audit.models import AuditHead


class ChainHeadGuardTestCase:
    def test_it_exists_before_the_first_event(self, db):
        assert AuditHead.objects.filter(id=0, seq=0).exists()

    def test_it_only_moves_forward_one_event_at_a_time(self, db):
        with transaction.atomic():
            record_event(actor=None, verb="test.one", object_type="x", object_id="1", object_repr="x")
        assert AuditHead.objects.get().seq == 1
        with connection.cursor() as cursor:
            for sql in (
                "UPDATE audit_audithead SET seq = 0",
                "UPDATE audit_audithead SET seq = 5",
                "DELETE FROM audit_audithead",
            ):
                with pytest.raises(DatabaseError, match="audit chain head"), transaction.atomic():
                    cursor.execute(sql)
        assert AuditHead.objects.get().seq == 1
