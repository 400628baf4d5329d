"""Who created each API client: a new column, filled for existing clients from their audit event.

A client created before this migration gets the actor of its ``apiclient.create`` audit event. When
there is no such event (or it names no user), ``created_by`` stays empty: "not recorded". The
four-eyes rule then treats the client conservatively, as created by any admin of its site or group
(see prepay/api/identity.py and docs/security.md).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def creators_from_audit(apps, schema_editor):
    ApiClient = apps.get_model("api", "ApiClient")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    for client in ApiClient.objects.filter(created_by__isnull=True).only("pk"):
        event = (
            AuditEvent.objects.filter(
                verb="apiclient.create", object_type="api.apiclient", object_id=str(client.pk)
            )
            .exclude(actor__isnull=True)
            .order_by("seq")
            .first()
        )
        if event is not None:
            ApiClient.objects.filter(pk=client.pk).update(created_by_id=event.actor_id)


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("audit", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="apiclient",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                help_text=(
                    "The person who created the client. Empty: not recorded (a client older than this "
                    "field without its audit event); it then counts as created by any admin of its site."
                ),
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="created_api_clients",
                to=settings.AUTH_USER_MODEL,
                verbose_name="created by",
            ),
        ),
        migrations.RunPython(creators_from_audit, migrations.RunPython.noop),
    ]
