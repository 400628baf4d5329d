"""Run in a process of its own on a real SQLite file (``tests/audit/test_site_chains.py``): migrate
to the last schema with one audit chain, write events as the writer of then did, migrate to the end,
and print what an upgraded installation holds as JSON."""

from __future__ import annotations

import json

import django
from django.core.management import call_command

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402

BEFORE = ("vending", "0006_ledger_audit_marker")  # audit at 0005: one chain, head row 1

call_command("migrate", *BEFORE, verbosity=0)
old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
from prepay.audit.actions import record_in_migration  # noqa: E402

for i in range(3):
    record_in_migration(old, verb="test.before_chains", object_type="t", object_id=str(i), after={"i": i})
call_command("migrate", verbosity=0)

from prepay.audit.actions import record_event  # noqa: E402
from prepay.audit.chain import verify_log  # noqa: E402
from prepay.audit.models import AuditEvent, AuditHead  # noqa: E402
from prepay.dbcare.services import _triggers  # noqa: E402
from prepay.tenancy.models import PropertyGroup, Site  # noqa: E402

group = PropertyGroup.objects.create(code="upg", name="Upgrade group")
site = Site.objects.create(group=group, code="up1", name="Upgrade site")
with transaction.atomic():
    record_event(
        actor=None,
        verb="test.after_chains",
        object_type="t",
        object_id="s",
        site_id=site.pk,
        group_id=group.pk,
    )
with transaction.atomic():
    record_event(actor=None, verb="test.main_after_chains", object_type="t", object_id="m")
result = verify_log()
print(
    json.dumps(
        {
            "ok": result.ok,
            "problem": result.problem.detail if result.problem else None,
            "chains": [[c.chain, c.count, c.head_seq] for c in result.chains],
            "heads": sorted(AuditHead.objects.values_list("id", flat=True)),
            "events": list(AuditEvent.objects.order_by("id").values_list("chain", "seq", "verb")),
            "site": site.pk,
            "triggers_missing": [f.where for f in _triggers("default")],
        }
    )
)
