"""Seal the audit chain with a keyed MAC, and mark each event with its transaction.

Adds ``AuditEvent.txn`` / ``mac_key`` / ``mac``, ``AuditHead.mac_key`` and the ``AuditKey`` table
(audit keys, encrypted with the store key). Every new column is nullable without a default, so SQLite
adds it in place: rebuilding the table would drop the append-only triggers.

Cut-over: a database that already holds events gets its audit key now and an ``audit.chain_keyed``
event sealed with it; its ``prev_hash`` vouches for every older event, which keep verifying by their
hashes as before. When no store key can be had here the switch happens at the next write instead
(and ``prepay audit verify`` says the chain is not keyed until then).
"""

from __future__ import annotations

import sys

from django.db import migrations, models, transaction


def key_the_chain(apps, schema_editor):  # type: ignore[no-untyped-def]
    from prepay.audit.actions import _append
    from prepay.common.errors import ActionError

    event_model = apps.get_model("audit", "AuditEvent")
    head_model = apps.get_model("audit", "AuditHead")
    key_model = apps.get_model("audit", "AuditKey")
    if not event_model.objects.exists() or head_model.objects.filter(id=1, mac_key__isnull=False).exists():
        return
    try:
        with transaction.atomic():  # a savepoint
            _append([], models=(event_model, head_model, key_model))
    except ActionError as exc:
        sys.stderr.write(f"audit: the chain is not keyed yet ({exc}); the next write keys it.\n")


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_head_moves_to_an_event")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="txn",
            field=models.CharField(
                blank=True, editable=False, max_length=16, null=True, verbose_name="transaction"
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="mac_key",
            field=models.CharField(
                blank=True, editable=False, max_length=16, null=True, verbose_name="audit key"
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="mac",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="audithead",
            name="mac_key",
            field=models.CharField(blank=True, max_length=16, null=True),
        ),
        migrations.CreateModel(
            name="AuditKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key_id", models.CharField(editable=False, max_length=16, unique=True)),
                ("store_key_id", models.CharField(editable=False, max_length=16)),
                ("nonce", models.BinaryField(editable=False, max_length=12)),
                ("ciphertext", models.BinaryField(editable=False)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"verbose_name": "audit key", "verbose_name_plural": "audit keys"},
        ),
        migrations.RunPython(key_the_chain, migrations.RunPython.noop),
    ]
