"""Setting up payment providers (an admin's work: capability ``keys.manage``), audited.

A provider gets its own service user ``pay.<group>.<code>`` holding a cashier membership where it
sells (its site, or the whole group), like an API client: every permission and site rule of a sale
applies to online sales unchanged. Credentials are checked (the keys must load, the APIv3 key must
be 32 bytes) and sealed under the store key; audit events name the secrets, never their values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event
from prepay.common.actions import locked
from prepay.common.errors import ActionError
from prepay.payments import crypto
from prepay.payments.choices import ProviderKind
from prepay.payments.credentials import seal
from prepay.payments.models import PaymentProvider
from prepay.tenancy.choices import Role
from prepay.tenancy.models import Membership, PropertyGroup, Site
from prepay.tenancy.scoping import require
from prepay.vending.models import PointKind, VendingPoint

#: settings and secrets each kind needs
REQUIRED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ProviderKind.WECHAT: (("mchid", "appid", "merchant_serial"), ("apiv3_key", "private_key")),
    ProviderKind.ALIPAY: (("app_id", "alipay_public_key"), ("private_key",)),
    ProviderKind.SIMULATED: (("mchid", "platform_certificates"), ("apiv3_key", "platform_private_key")),
}


def _invalid(message: str) -> ActionError:
    return ActionError("invalid_credentials", message)


def check_credentials(kind: str, config: Mapping[str, Any], values: Mapping[str, str]) -> None:
    """Refuse settings or secrets a provider of ``kind`` cannot work with (names, never values)."""
    if kind not in ProviderKind.values:
        raise ActionError("invalid_kind", _("Unknown provider kind %(k)s.") % {"k": kind})
    need_config, need_secrets = REQUIRED[kind]
    missing = [k for k in need_config if not config.get(k)] + [k for k in need_secrets if not values.get(k)]
    if missing:
        raise _invalid(_("Missing settings or secrets: %(m)s.") % {"m": ", ".join(missing)})
    try:
        if kind in (ProviderKind.WECHAT, ProviderKind.SIMULATED):
            if len(values["apiv3_key"].encode()) != 32:
                raise _invalid(_("The APIv3 key must be 32 characters."))
            certificates = list(config.get("platform_certificates") or [])
            keys = dict(config.get("public_keys") or {})
            if not certificates and not keys:
                raise _invalid(_("Give WeChat Pay's platform certificate(s) or public key."))
            for pem in certificates:
                crypto.certificate_serial(pem)
            for pem in keys.values():
                crypto.load_public_key(pem)
        if kind == ProviderKind.ALIPAY:
            crypto.load_public_key(str(config["alipay_public_key"]))
        for name in ("private_key", "platform_private_key"):
            if values.get(name):
                crypto.load_private_key(values[name])
    except crypto.CryptoError as exc:
        raise _invalid(_("A key or certificate cannot be read: %(why)s.") % {"why": exc}) from None


def _check_point(group: PropertyGroup, site: Site | None, point: VendingPoint) -> None:
    if point.kind != PointKind.ONLINE:
        raise ActionError(
            "point_not_online", _("Vending point %(p)s is not an online channel.") % {"p": point.code}
        )
    if point.site.group_id != group.pk or (site is not None and point.site_id != site.pk):
        raise ActionError(
            "wrong_site", _("Vending point %(p)s belongs to another site or group.") % {"p": point.code}
        )


@transaction.atomic
def do_add_provider(
    *,
    group: PropertyGroup,
    code: str,
    name: str,
    kind: str,
    point: VendingPoint,
    config: Mapping[str, Any],
    secret_values: Mapping[str, str],
    actor: Any,
    site: Site | None = None,
) -> PaymentProvider:
    """Configure a provider selling at ``point`` for ``site`` (None: every site of the group)."""
    require(actor, "keys.manage", group_id=group.pk, site_id=site.pk if site else None)
    code = (code or "").strip()
    if not re.fullmatch(r"[a-z0-9-]{1,32}", code):
        raise ActionError("invalid_code", _("A provider code is 1–32 lower-case letters, digits or dashes."))
    if site is not None and site.group_id != group.pk:
        raise ActionError("wrong_site", _("The site does not belong to the group."))
    _check_point(group, site, point)
    check_credentials(kind, config, secret_values)
    if PaymentProvider.objects.filter(group=group, code=code).exists():
        raise ActionError("code_taken", _("A payment provider %(c)s already exists.") % {"c": code})
    User = get_user_model()
    username = f"pay.{group.code}.{code}"[:150]
    if User.objects.filter(username=username).exists():
        raise ActionError("code_taken", _("A payment provider %(c)s already exists.") % {"c": code})
    user = User.objects.create_user(username=username, password=None, is_staff=False)
    Membership.objects.create(user=user, group=group, site=site, role=Role.CASHIER)
    provider = PaymentProvider(
        group=group, site=site, code=code, name=(name or code)[:100], kind=kind, point=point, user=user
    )
    provider.config = dict(config)
    seal(provider, secret_values)
    provider.save()
    record_event(
        actor=actor,
        verb="payment.provider.create",
        obj=provider,
        group_id=group.pk,
        site_id=site.pk if site else None,
        after={
            "code": code,
            "kind": kind,
            "point": point.code,
            "settings": sorted(provider.config),
            "secrets": sorted(secret_values),
        },
    )
    return provider


@transaction.atomic
def do_set_provider_credentials(
    *,
    provider: PaymentProvider,
    actor: Any,
    config: Mapping[str, Any] | None = None,
    secret_values: Mapping[str, str],
) -> PaymentProvider:
    """Replace a provider's secrets (and settings, when given): a new APIv3 key, a renewed platform
    certificate, or credentials sealed again after the store key was rotated."""
    provider = locked(PaymentProvider, provider.pk)
    require(actor, "keys.manage", group_id=provider.group_id, site_id=provider.site_id)
    new_config = dict(config) if config is not None else dict(provider.config)
    check_credentials(provider.kind, new_config, secret_values)
    provider.config = new_config
    seal(provider, secret_values)
    provider.save()
    record_event(
        actor=actor,
        verb="payment.provider.credentials",
        obj=provider,
        group_id=provider.group_id,
        site_id=provider.site_id,
        after={"settings": sorted(new_config), "secrets": sorted(secret_values)},
    )
    return provider


@transaction.atomic
def do_set_provider_active(*, provider: PaymentProvider, active: bool, actor: Any) -> PaymentProvider:
    """Switch a provider on or off for new orders (notifications of its orders are still accepted:
    money already paid must not be lost)."""
    provider = locked(PaymentProvider, provider.pk)
    require(actor, "keys.manage", group_id=provider.group_id, site_id=provider.site_id)
    if provider.active == active:
        return provider
    provider.active = active
    provider.save(update_fields=["active"])
    record_event(
        actor=actor,
        verb="payment.provider.active",
        obj=provider,
        group_id=provider.group_id,
        site_id=provider.site_id,
        before={"active": not active},
        after={"active": active},
    )
    return provider
