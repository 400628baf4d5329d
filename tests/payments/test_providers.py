"""Setting up providers: an admin of the group (capability keys.manage); credentials checked before
they are sealed; the provider sells as its own service user at an online point; audit events name the
secrets, never their values."""

from __future__ import annotations

import json

import pytest

from prepay.audit.models import AuditEvent
from prepay.common.errors import ActionError, PermissionDenied
from prepay.payments import crypto
from prepay.payments.actions import do_add_provider, do_set_provider_active, do_set_provider_credentials
from prepay.payments.adapters.simulated import new_credentials
from prepay.payments.credentials import unseal
from prepay.payments.models import PaymentProvider
from prepay.tenancy.scoping import can
from tests.payments.conftest import add_online_point


def _wechat(**over):
    platform, merchant = crypto.new_rsa_key(), crypto.new_rsa_key()
    config = {
        "mchid": "1900000109",
        "appid": "wxd678efh567hg6787",
        "merchant_serial": "ABC",
        "platform_certificates": [crypto.self_signed_certificate(platform, "t")],
    }
    values = {"apiv3_key": "0123456789abcdefghijklmnopqrstuv", "private_key": crypto.private_pem(merchant)}
    return {**config, **over.get("config", {})}, {**values, **over.get("values", {})}


def _add(world, point, kind="wechat", actor=None, code="wx", **over):
    config, values = _wechat(**over) if kind == "wechat" else new_credentials()
    return do_add_provider(
        group=point.site.group,
        code=code,
        name="WeChat Pay",
        kind=kind,
        point=point,
        config=config,
        secret_values=values,
        actor=actor or world.admin,
    )


class AddProviderTestCase:
    def test_it_adds_a_wechat_provider_with_its_service_user(self, world, store):
        point = add_online_point(world.a1.site)
        provider = _add(world, point)
        assert provider.user.username == "pay.ga.wx" and not provider.user.is_staff
        assert can(provider.user, "vend.sell", group_id=world.a1.group.pk, site_id=world.a1.site.pk)
        assert unseal(provider)["apiv3_key"] == "0123456789abcdefghijklmnopqrstuv"
        event = AuditEvent.objects.get(verb="payment.provider.create")
        text = json.dumps(event.after)
        assert (
            event.after["secrets"] == ["apiv3_key", "private_key"]
            and "PRIVATE" not in text
            and "0123456789" not in text
        )

    @pytest.mark.parametrize(
        ("over", "words"),
        [
            ({"values": {"apiv3_key": "short"}}, "32 characters"),
            (
                {"values": {"private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}},
                "cannot be read",
            ),
            ({"config": {"mchid": ""}}, "mchid"),
            ({"config": {"platform_certificates": []}}, "platform certificate"),
        ],
    )
    def test_it_refuses_credentials_that_cannot_work(self, world, store, over, words):
        point = add_online_point(world.a1.site)
        with pytest.raises(ActionError) as exc:
            _add(world, point, **over)
        assert words in str(exc.value) and PaymentProvider.objects.count() == 0

    def test_it_needs_an_online_point_of_the_group(self, world, store):
        from prepay.vending.models import VendingPoint

        counter = VendingPoint.objects.create(site=world.a1.site, code="c1", name="Counter")
        with pytest.raises(ActionError) as exc:
            _add(world, counter)
        assert exc.value.code == "point_not_online"
        with pytest.raises(ActionError) as exc:
            do_add_provider(
                group=world.a1.group,
                code="x",
                name="x",
                kind="simulated",
                point=add_online_point(world.b1.site, "bx"),
                config=new_credentials()[0],
                secret_values=new_credentials()[1],
                actor=world.admin,
            )
        assert exc.value.code == "wrong_site"

    @pytest.mark.parametrize("who", ["clerk", "finance", "cashier", "clerk_b"])
    def test_only_an_admin_adds_providers(self, world, store, who):
        with pytest.raises(PermissionDenied):
            _add(world, add_online_point(world.a1.site), actor=getattr(world, who))

    def test_a_code_is_used_once_per_group(self, world, store):
        point = add_online_point(world.a1.site)
        _add(world, point)
        with pytest.raises(ActionError) as exc:
            _add(world, point)
        assert exc.value.code == "code_taken"

    def test_credentials_are_replaced_and_a_provider_switched_off(self, world, store):
        provider = _add(world, add_online_point(world.a1.site))
        config, values = _wechat()
        do_set_provider_credentials(
            provider=provider,
            config=config,
            secret_values={**values, "apiv3_key": "v" * 32},
            actor=world.admin,
        )
        provider.refresh_from_db()
        assert unseal(provider)["apiv3_key"] == "v" * 32
        do_set_provider_active(provider=provider, active=False, actor=world.admin)
        provider.refresh_from_db()
        assert not provider.active
        with pytest.raises(PermissionDenied):
            do_set_provider_active(provider=provider, active=True, actor=world.finance)
