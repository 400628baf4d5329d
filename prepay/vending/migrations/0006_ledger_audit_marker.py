"""Link every ledger entry and journal line to the audit events of its transaction.

``audit_txn`` holds the marker of the transaction that wrote the row (the field's default,
:func:`prepay.audit.marker.current_txn`); the audit writer puts the same marker on its events, and
``prepay db check`` reports rows whose marker no committed audit event carries.

Cut-over: rows written before this migration carry no marker. They are trusted through a watermark
recorded in the audit chain itself (event ``audit.ledger_watermark``, sealed like any other): the
highest id and the number of rows of each table now. ``db check`` accepts an unmarked row only at or
below that id, and only as many as were counted, so a row slipped in later below the watermark is
still found. The database columns are added without a default (SQLite adds them in place; old rows
stay NULL); the model's default applies to new rows only.
"""

from __future__ import annotations

from django.db import migrations, models

import prepay.audit.marker

WATERMARK_VERB = "audit.ledger_watermark"


def record_watermark(apps, schema_editor):  # type: ignore[no-untyped-def]
    from django.db.models import Count, Max

    from prepay.audit.actions import record_in_migration

    after = {}
    for label in ("LedgerEntry", "JournalLine"):
        model = apps.get_model("vending", label)
        agg = model.objects.aggregate(max_id=Max("pk"), count=Count("pk"))
        after[model._meta.db_table] = {"max_id": agg["max_id"] or 0, "count": agg["count"]}
    if not any(v["count"] for v in after.values()):
        return  # a new database: every row will carry its marker
    record_in_migration(
        apps, verb=WATERMARK_VERB, object_type="vending.ledgerentry", object_id="watermark", after=after
    )


def marker_field() -> models.CharField:
    return models.CharField(
        blank=True, default=prepay.audit.marker.current_txn, editable=False, max_length=16, null=True
    )


def column() -> models.CharField:
    return models.CharField(blank=True, editable=False, max_length=16, null=True)


class Migration(migrations.Migration):
    dependencies = [
        ("vending", "0005_alter_vendingpoint_receipt_prefix_and_more"),
        ("audit", "0005_sealed_chain"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(model_name="ledgerentry", name="audit_txn", field=marker_field()),
                migrations.AddField(model_name="journalline", name="audit_txn", field=marker_field()),
            ],
            database_operations=[
                migrations.AddField(model_name="ledgerentry", name="audit_txn", field=column()),
                migrations.AddField(model_name="journalline", name="audit_txn", field=column()),
            ],
        ),
        migrations.RunPython(record_watermark, migrations.RunPython.noop),
    ]
