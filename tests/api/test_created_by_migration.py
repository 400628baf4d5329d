"""Migration api.0002: existing clients get their creator from their ``apiclient.create`` audit event;
without one the creator stays unknown (the four-eyes rule then treats the client conservatively)."""

from __future__ import annotations

import importlib

from django.apps import apps

from prepay.api.actions import do_create_api_client
from prepay.api.models import ApiClient
from tests import factories as f

migration = importlib.import_module("prepay.api.migrations.0002_apiclient_created_by")


class CreatorsFromAuditTestCase:
    def test_it_takes_the_creator_from_the_audit_event_or_leaves_it_unknown(self, world):
        kw = dict(
            group=world.a1.group, site=world.a1.site, scopes=["read"], roles=["cashier"], actor=world.admin
        )
        do_create_api_client(name="audited", **kw)
        # a client written without its event (e.g. by hand, or before clients were audited)
        ApiClient.objects.create(
            group=world.a1.group, name="legacy", prefix="0123456789ab", salt="s", key_hash="h", user=f.user()
        )
        ApiClient.objects.update(created_by=None)
        migration.creators_from_audit(apps, None)
        assert ApiClient.objects.get(name="audited").created_by == world.admin
        assert ApiClient.objects.get(name="legacy").created_by is None

    def test_it_keeps_a_recorded_creator(self, world):
        client, _k = do_create_api_client(
            group=world.a1.group, name="x", scopes=["read"], roles=["cashier"], actor=world.admin
        )
        migration.creators_from_audit(apps, None)
        client.refresh_from_db()
        assert client.created_by == world.admin
