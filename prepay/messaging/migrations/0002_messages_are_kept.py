"""Refuse UPDATE on messages at the database level: a message stays as it was sent.

DELETE is refused by the model and its queryset (no screen deletes); the database does not refuse it,
so the test database can still be flushed (SQLite flushes with DELETE). Every foreign key to a
message, a sender or an account is PROTECT, so nothing deletes messages by cascade either.
"""

from __future__ import annotations

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER messaging_message_no_update BEFORE UPDATE ON messaging_message
       BEGIN SELECT RAISE(ABORT, 'messages are kept as written'); END""",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS messaging_message_no_update"]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION messaging_message_kept() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'messages are kept as written'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER messaging_message_kept BEFORE UPDATE ON messaging_message
       FOR EACH ROW EXECUTE FUNCTION messaging_message_kept()""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS messaging_message_kept ON messaging_message",
    "DROP FUNCTION IF EXISTS messaging_message_kept()",
]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    for sql in SQLITE if vendor == "sqlite" else POSTGRES if vendor == "postgresql" else []:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    for sql in SQLITE_REVERSE if vendor == "sqlite" else POSTGRES_REVERSE if vendor == "postgresql" else []:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
