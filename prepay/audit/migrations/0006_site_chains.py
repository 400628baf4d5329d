"""One audit chain per site, besides the main chain: sales at different sites no longer queue on one
chain head (issue 17).

Every event written so far stays in chain 0, the main chain, whose head (id 1 until now) becomes head
0; ``seq`` is unique within a chain. The head's guard now also refuses a head that starts anywhere
but at the empty chain, and checks that the head moves onto an event of its own chain. The triggers
are dropped around the schema change (SQLite rebuilds both tables, which drops them) and created
again, as in migrations 0002-0004.
"""

from __future__ import annotations

from django.db import migrations, models

GENESIS = "0" * 64
CHECK = (
    "NOT EXISTS (SELECT 1 FROM audit_auditevent e "
    "WHERE e.chain = NEW.id AND e.seq = NEW.seq AND e.hash = NEW.hash)"
)
MESSAGE = "the audit chain head only moves forward, onto an event of its chain"
START = "an audit chain head starts at the empty chain"

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
    "DROP TRIGGER IF EXISTS audit_head_no_delete",
    "DROP TRIGGER IF EXISTS audit_head_forward_only",
    "DROP TRIGGER IF EXISTS audit_head_starts_empty",
]
SQLITE_CREATE = [
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    """CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_audithead
       BEGIN SELECT RAISE(ABORT, 'the audit chain head cannot be deleted'); END""",
    f"""CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_audithead
       WHEN NEW.seq <= OLD.seq OR NEW.id != OLD.id OR {CHECK}
       BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER audit_head_starts_empty BEFORE INSERT ON audit_audithead
       WHEN NEW.seq != 0 OR NEW.hash != '{GENESIS}'
       BEGIN SELECT RAISE(ABORT, '{START}'); END""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS audit_head_guard ON audit_audithead",
]
POSTGRES_CREATE = [
    f"""CREATE OR REPLACE FUNCTION audit_head_guard() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'the audit chain head cannot be deleted'; END IF;
         IF TG_OP = 'INSERT' THEN
           IF NEW.seq <> 0 OR NEW.hash <> '{GENESIS}' THEN RAISE EXCEPTION '{START}'; END IF;
           RETURN NEW;
         END IF;
         IF NEW.seq <= OLD.seq OR NEW.id <> OLD.id OR {CHECK} THEN
           RAISE EXCEPTION '{MESSAGE}';
         END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_head_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_audithead
       FOR EACH ROW EXECUTE FUNCTION audit_head_guard()""",
]


def _earlier(name: str, attr: str) -> list[str]:
    import importlib

    return list(getattr(importlib.import_module(f"prepay.audit.migrations.{name}"), attr))


def restore_earlier(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Going back to 0005: the triggers as migrations 0002-0004 left them."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        statements = [
            *_earlier("0002_append_only_triggers", "SQLITE"),
            *_earlier("0003_chain_head_guard", "SQLITE"),
            *_earlier("0004_head_moves_to_an_event", "SQLITE"),
        ]
    elif vendor == "postgresql":
        statements = [
            *_earlier("0003_chain_head_guard", "POSTGRES"),
            *_earlier("0004_head_moves_to_an_event", "POSTGRES"),
        ]
    else:
        statements = []
    for sql in statements:
        schema_editor.execute(sql)


def run(statements: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def apply(apps, schema_editor):  # type: ignore[no-untyped-def]
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return apply


def main_chain_is_zero(apps, schema_editor):  # type: ignore[no-untyped-def]
    """The old single head (id 1) becomes the main chain's head (id 0); its events are chain 0."""
    head = apps.get_model("audit", "AuditHead")
    old = head.objects.filter(id=1).first()
    if old is not None and not head.objects.filter(id=0).exists():
        head.objects.filter(id=1).update(id=0)


def main_chain_is_one(apps, schema_editor):  # type: ignore[no-untyped-def]
    head = apps.get_model("audit", "AuditHead")
    if head.objects.exclude(id=0).exists():
        raise RuntimeError("cannot go back to one audit chain: sites have chains of their own")
    head.objects.filter(id=0).update(id=1)


class Migration(migrations.Migration):
    # vending 0006 appends an event through the audit models of 0005 (one chain, head row 1): it runs first
    dependencies = [("audit", "0005_sealed_chain"), ("vending", "0006_ledger_audit_marker")]

    operations = [
        migrations.RunPython(run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}), restore_earlier),
        migrations.AlterModelOptions(
            name="auditevent",
            options={"ordering": ["-id"], "verbose_name": "audit event", "verbose_name_plural": "audit events"},
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain",
            field=models.PositiveIntegerField(default=0, verbose_name="chain"),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(verbose_name="sequence"),
        ),
        migrations.AlterField(
            model_name="audithead",
            name="id",
            field=models.PositiveIntegerField(default=0, primary_key=True, serialize=False),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(fields=("chain", "seq"), name="audit_event_chain_seq"),
        ),
        migrations.RunPython(main_chain_is_zero, main_chain_is_one),
        migrations.RunPython(
            run({"sqlite": SQLITE_CREATE, "postgresql": POSTGRES_CREATE}),
            run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        ),
    ]
