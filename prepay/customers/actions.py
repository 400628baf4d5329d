"""Customers and accounts: register a customer, open an account (开户). Transferring ownership (过户)
and closing (销户) settle money, so they are vending's (``prepay.vending.lifecycle``).

Every function is atomic, validates before it writes, locks what it changes and writes one audit
event in the same transaction. A refusal raises :class:`ActionError` and changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event, snapshot
from prepay.common.actions import full_clean, locked
from prepay.common.errors import ActionError
from prepay.customers.choices import AccountMode, AccountStatus, BillingMode, Utility
from prepay.customers.models import Account, Customer, CustomerType, Unit
from prepay.tariffs.models import Tariff
from prepay.tenancy.models import Site
from prepay.tenancy.scoping import require


def _audit(actor: Any, verb: str, obj: Any, before: Any, after: Any, **extra: Any) -> None:
    site = obj.site
    payload = snapshot(obj) if after is True else after
    if extra and isinstance(payload, dict):
        payload = {**payload, **extra}
    record_event(
        actor=actor, verb=verb, obj=obj, group_id=site.group_id, site_id=site.pk, before=before, after=payload
    )


@transaction.atomic
def do_create_customer(
    *,
    site: Any,
    number: str,
    name: str,
    customer_type: CustomerType,
    actor: Any,
    phone: str = "",
    id_number: str = "",
    email: str = "",
    address: str = "",
    language: str = "",
) -> Customer:
    """Register a customer at ``site``; the customer type must belong to the site's group.
    ``language`` (a code of ``settings.LANGUAGES``, empty for the platform's default) is the one their
    notifications are written in."""
    require(actor, "customer.change", group_id=site.group_id, site_id=site.pk)
    if customer_type.group_id != site.group_id:
        raise ActionError("wrong_group", _("The customer type belongs to another group."))
    number = number.strip()
    if Customer.objects.filter(site=site, number=number).exists():
        raise ActionError(
            "duplicate", _("Customer number %(n)s already exists at this site.") % {"n": number}
        )
    customer = Customer(
        site=site,
        number=number.strip(),
        name=name.strip(),
        customer_type=customer_type,
        phone=phone.strip(),
        id_number=id_number.strip(),
        email=email.strip(),
        address=address.strip(),
        language=language.strip(),
    )
    full_clean(customer)
    customer.save()
    _audit(actor, "customer.create", customer, None, True)
    return customer


def next_account_number(site: Any) -> str:
    """``<site code>-<6-digit sequence>``, the next free one at the site."""
    prefix = f"{site.code.upper()}-"
    n = Account.objects.filter(number__startswith=prefix).count() + 1
    while Account.objects.filter(number=f"{prefix}{n:06d}").exists():
        n += 1
    return f"{prefix}{n:06d}"


@transaction.atomic
def do_open_account(
    *,
    customer: Customer,
    unit: Unit,
    actor: Any,
    utility: str = Utility.ELECTRICITY,
    mode: str = AccountMode.LOCAL,
    billing: str = BillingMode.PREPAID,
    tariff: Tariff | None = None,
    number: str | None = None,
) -> Account:
    """开户: open an account for ``customer`` at ``unit``.

    Refused when the unit is at another site, the unit already has an open account for the same
    utility, the tariff is for another utility or group, or a choice is not one of the known values.
    """
    site = customer.site
    require(actor, "account.lifecycle", group_id=site.group_id, site_id=site.pk)
    # Lock the site: account numbers are handed out per site, one opening at a time.
    site = locked(Site, site.pk)
    unit = locked(Unit, unit.pk)
    if unit.building.site_id != site.pk:
        raise ActionError("wrong_site", _("The unit is not at the customer's site."))
    if utility not in Utility.values or mode not in AccountMode.values or billing not in BillingMode.values:
        raise ActionError("invalid", _("Unknown utility, fee-control mode or billing mode."))
    if Account.objects.filter(unit=unit, utility=utility).exclude(status=AccountStatus.CLOSED).exists():
        raise ActionError(
            "unit_taken",
            _("Unit %(u)s already has an open %(t)s account.") % {"u": unit, "t": Utility(utility).label},
        )
    if tariff is not None and (
        tariff.group_id != site.group_id
        or tariff.utility != utility
        or (tariff.site_id and tariff.site_id != site.pk)
    ):
        raise ActionError(
            "wrong_tariff",
            _("The tariff is not one of this site's %(t)s tariffs.") % {"t": Utility(utility).label},
        )
    if number and Account.objects.filter(number=number).exists():
        raise ActionError("duplicate", _("Account number %(n)s is already used.") % {"n": number})
    account = Account(
        site=site,
        number=number or next_account_number(site),
        customer=customer,
        unit=unit,
        utility=utility,
        mode=mode,
        billing=billing,
        tariff=tariff,
        status=AccountStatus.OPEN,
        opened_at=timezone.now(),
    )
    full_clean(account)
    account.save()
    _audit(actor, "account.open", account, None, True)
    return account
