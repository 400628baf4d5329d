"""The chain head may move forward by several events at once (an action appends its events in one
batch), but only onto an event that exists with that sequence number and hash.

This replaces 0003's "one event at a time" rule with a stronger one: the head can no longer be
pointed past the events or at a hash no event has, whatever the step.
"""

from __future__ import annotations

from django.db import migrations

CHECK = "NOT EXISTS (SELECT 1 FROM audit_auditevent e WHERE e.seq = NEW.seq AND e.hash = NEW.hash)"
MESSAGE = "the audit chain head only moves forward, onto an event of the chain"

SQLITE = [
    "DROP TRIGGER IF EXISTS audit_head_forward_only",
    f"""CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_audithead
       WHEN NEW.seq <= OLD.seq OR NEW.id != OLD.id OR {CHECK}
       BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_head_forward_only",
    """CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_audithead
       WHEN NEW.seq != OLD.seq + 1 OR NEW.id != OLD.id
       BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward one event at a time'); END""",
]
POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION audit_head_guard() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'the audit chain head cannot be deleted'; END IF;
         IF NEW.seq <= OLD.seq OR NEW.id <> OLD.id OR {CHECK} THEN
           RAISE EXCEPTION '{MESSAGE}';
         END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
]
POSTGRES_REVERSE = [
    """CREATE OR REPLACE FUNCTION audit_head_guard() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'the audit chain head cannot be deleted'; END IF;
         IF NEW.seq <> OLD.seq + 1 OR NEW.id <> OLD.id THEN
           RAISE EXCEPTION 'the audit chain head only moves forward one event at a time';
         END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
]


def run(statements: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def apply(apps, schema_editor):  # type: ignore[no-untyped-def]
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_chain_head_guard")]
    operations = [
        migrations.RunPython(
            run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}),
        )
    ]
