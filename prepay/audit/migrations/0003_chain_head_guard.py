"""Create the chain head up front and guard it like the events.

The head row exists from the start (two first writers on a fresh PostgreSQL database can no longer
race to create it), may not be deleted, and may only move forward one event at a time.
"""

from __future__ import annotations

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_audithead
       BEGIN SELECT RAISE(ABORT, 'the audit chain head cannot be deleted'); END""",
    """CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_audithead
       WHEN NEW.seq != OLD.seq + 1 OR NEW.id != OLD.id
       BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward one event at a time'); END""",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS audit_head_no_delete", "DROP TRIGGER IF EXISTS audit_head_forward_only"]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION audit_head_guard() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'the audit chain head cannot be deleted'; END IF;
         IF NEW.seq <> OLD.seq + 1 OR NEW.id <> OLD.id THEN
           RAISE EXCEPTION 'the audit chain head only moves forward one event at a time';
         END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_audithead
       FOR EACH ROW EXECUTE FUNCTION audit_head_guard()""",
]
POSTGRES_REVERSE = ["DROP TRIGGER IF EXISTS audit_head_guard ON audit_audithead", "DROP FUNCTION IF EXISTS audit_head_guard()"]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    head_model = apps.get_model("audit", "AuditHead")
    event_model = apps.get_model("audit", "AuditEvent")
    if not head_model.objects.filter(id=1).exists():
        last = event_model.objects.order_by("-seq").first()
        head_model.objects.create(id=1, seq=last.seq if last else 0, hash=last.hash if last else "0" * 64)
    vendor = schema_editor.connection.vendor
    for sql in SQLITE if vendor == "sqlite" else POSTGRES if vendor == "postgresql" else []:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    for sql in SQLITE_REVERSE if vendor == "sqlite" else POSTGRES_REVERSE if vendor == "postgresql" else []:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]
    operations = [migrations.RunPython(forwards, backwards)]
