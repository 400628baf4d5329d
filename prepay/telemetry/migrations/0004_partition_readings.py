"""Readings partitioned by month on PostgreSQL (prepay/telemetry/partitions.py); SQLite keeps one table.

The table is rebuilt as ``PARTITION BY RANGE (read_at)`` under the same name, constraint and index names
Django gave it, except that the primary key becomes (id, read_at) — a partitioned table's unique keys
must hold the partition key; ids still come from one identity sequence. Existing readings are copied
into a partition per month they fall in, plus the current month, two months ahead and a default
partition. Django's model is unchanged: ``id`` stays the key it reads and writes by.
"""

from datetime import date

from django.conf import settings
from django.db import migrations

TABLE = "telemetry_meterreading"
OLD = f"{TABLE}_unpartitioned"
# the names Django created in 0001 (deterministic), kept so later migrations find them
PKEY = f"{TABLE}_pkey"
UNIQUE = "reading_unique_per_meter_time"
METER_INDEX = f"{TABLE}_meter_id_95111c78"
METER_FK = f"{TABLE}_meter_id_95111c78_fk_meters_meter_id"


def _rename_aside(c):
    c.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    c.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT {PKEY} TO {OLD}_pkey")
    c.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT {UNIQUE} TO {OLD}_unique")
    c.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT {METER_FK} TO {OLD}_meter_fk")
    c.execute(f"ALTER INDEX {METER_INDEX} RENAME TO {OLD}_meter")


def _create(c, key, tail=""):
    """The readings table again, beside the old one: same columns, keys, foreign key and index."""
    c.execute(
        f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING IDENTITY, "
        f"CONSTRAINT {PKEY} PRIMARY KEY ({key}), CONSTRAINT {UNIQUE} UNIQUE (meter_id, read_at), "
        f"CONSTRAINT {METER_FK} FOREIGN KEY (meter_id) REFERENCES meters_meter (id) "
        f"DEFERRABLE INITIALLY DEFERRED){tail}"
    )
    c.execute(f"CREATE INDEX {METER_INDEX} ON {TABLE} (meter_id)")


def _copy_back(c):
    c.execute(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")  # noqa: S608 - names are constants
    c.execute(
        f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), "
        f"(SELECT COALESCE(max(id), 0) + 1 FROM {TABLE}), false)"  # noqa: S608
    )
    c.execute(f"DROP TABLE {OLD}")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from django.utils import timezone

    from prepay.telemetry import partitions

    with schema_editor.connection.cursor() as c:
        _rename_aside(c)
        _create(c, "id, read_at", " PARTITION BY RANGE (read_at)")
        c.execute(f"CREATE TABLE {partitions.DEFAULT} PARTITION OF {TABLE} DEFAULT")
        c.execute(
            f"SELECT DISTINCT date_trunc('month', read_at AT TIME ZONE %s)::date FROM {OLD}",  # noqa: S608
            [settings.TIME_ZONE],
        )
        months = {d for (d,) in c.fetchall() if d >= date(2000, 1, 1)}
        this = partitions.month_start(timezone.localdate())
        months |= {partitions.add_months(this, i) for i in range(partitions.AHEAD + 1)}
        for month in sorted(months):
            c.execute(partitions.create_sql(month))
        _copy_back(c)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as c:
        _rename_aside(c)
        _create(c, "id")
        _copy_back(c)


class Migration(migrations.Migration):
    atomic = True

    dependencies = [
        ("telemetry", "0003_channel_claims"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
