"""Stored configuration a sale depends on, re-read the way selling and billing read it.

:func:`stored_configuration_problems` lists what the engine would refuse in the rows as they are in
the database — whatever wrote them (an old release, a raw import, an ``UPDATE`` by hand):

* every tariff version, parsed by ``prepay.domain.tariffs`` exactly as a sale parses it; a flat
  definition whose own price overrides the unit price column; an assigned tariff (account, site or
  customer-type default) with no version in force today;
* billing settings and warning policies: the thresholds ``prepay.domain.warnings.Thresholds``
  accepts (level 1 > level 2 > −overdraft), and each field's own validation;
* vending keys: key slot (supply group code, key revision, key type, algorithm) as the import
  action accepts it, and — with the software key store — that the key decrypts with the store key
  loaded, to the algorithm's length (the key itself is dropped at once, never shown);
* vending points and sites: each field's validation and the sale limits' rules (``Site.clean``).

:func:`check_stored_configuration` is the Django system check (``prepay.W001``, Warning level: the
server still starts and sells everything that is not broken); it runs at start-up (``manage.py
check``, ``runserver``, ``prepay demo``) and is registered by ``prepay.tariffs.apps``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core import checks
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models
from django.utils import timezone
from django.utils.translation import gettext as _

__all__ = ["Problem", "check_stored_configuration", "stored_configuration_problems"]


@dataclass(frozen=True)
class Problem:
    """One stored row the engine would refuse: ``obj`` (the model instance), ``field`` (a model field
    or, in a tariff, the path inside its definition, e.g. ``blocks[1].upto``) and ``message`` (a
    sentence in the active language)."""

    obj: models.Model
    field: str
    message: str

    @property
    def where(self) -> str:
        """The row for people: its model's name, its text and its id, e.g. ``tariff Residential (2026-01-01) #3``."""
        return f"{self.obj._meta.verbose_name} {self.obj} #{self.obj.pk}"

    def __str__(self) -> str:
        field = f" [{self.field}]" if self.field else ""
        return f"{self.where}{field}: {self.message}"


def stored_configuration_problems(using: str = "default") -> list[Problem]:
    """Every problem found in the stored configuration of database ``using`` (empty: all good).
    Reads only; groups, sites and rows are checked whatever their scope (it is an operator's check)."""
    problems: list[Problem] = []
    for check in (_tariffs, _assignments, _billing, _keys, _points_and_sites):
        problems.extend(check(using))
    return problems


def check_stored_configuration(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[Any]:
    """The system check: one Warning per problem. Before the first migration (no tables yet) there is
    nothing stored to check."""
    try:
        problems = stored_configuration_problems()
    except DatabaseError:
        return []
    return [
        checks.Warning(
            f"{p.field}: {p.message}" if p.field else p.message,
            hint=_(
                "Open it in the back office and save it again once mended; sales that need it are refused."
            ),
            obj=p.where,
            id="prepay.W001",
        )
        for p in problems
    ]


def _field_errors(obj: models.Model, exclude: list[str] | None = None) -> Iterator[Problem]:
    """Each field's validation and the model's ``clean`` (no uniqueness: the database keeps that)."""
    try:
        obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                yield Problem(obj, "" if field == "__all__" else field, str(message))


# --------------------------------------------------------------------------------------------------
# tariffs


def _tariffs(using: str) -> Iterator[Problem]:
    from prepay.domain.tariffs import Tariff as EngineTariff
    from prepay.domain.tariffs import TariffError
    from prepay.tariffs.messages import tariff_error_text
    from prepay.tariffs.models import Tariff

    for row in Tariff.objects.using(using).order_by("group_id", "code", "effective_from"):
        try:
            EngineTariff.from_record(
                kind=row.kind,
                unit_price=row.unit_price,
                definition=row.definition,
                utility=row.utility,
                vat_rate=row.vat_rate,
                vat_included=row.vat_included,
            )
        except TariffError as exc:
            yield Problem(row, exc.field or "definition", tariff_error_text(exc))
            continue
        own = row.definition.get("price") if isinstance(row.definition, dict) else None
        if row.kind == "flat" and own is not None and str(own) != str(row.unit_price):
            yield Problem(
                row,
                "price",
                _(
                    "The definition's price %(d)s is what sales charge, not the unit price %(u)s shown in lists."
                )
                % {"d": own, "u": row.unit_price},
            )


def _assignments(using: str) -> Iterator[Problem]:
    """Assigned tariffs whose code has no version in force today (every sale on them is refused)."""
    from prepay.customers.models import Account, CustomerType
    from prepay.domain.tariffs import TariffError, select_version
    from prepay.tariffs.engine import versions_of
    from prepay.tariffs.models import SiteTariff, Tariff

    today = timezone.localdate()
    ids: set[int] = set()
    ids.update(Account.objects.using(using).exclude(tariff=None).values_list("tariff_id", flat=True))
    ids.update(SiteTariff.objects.using(using).values_list("tariff_id", flat=True))
    for column in ("default_electricity_tariff_id", "default_water_tariff_id"):
        ids.update(v for v in CustomerType.objects.using(using).values_list(column, flat=True) if v)
    seen: set[tuple[int, str, int | None]] = set()
    for row in Tariff.objects.using(using).filter(pk__in=ids).order_by("pk"):
        key = (row.group_id, row.code, row.site_id)
        if key in seen:
            continue
        seen.add(key)
        try:
            select_version(versions_of(row), today)
        except TariffError:
            yield Problem(
                row,
                "effective_from",
                _("Tariff %(c)s is assigned but no version of it is in force today.") % {"c": row.code},
            )


# --------------------------------------------------------------------------------------------------
# billing, keys, points


def _billing(using: str) -> Iterator[Problem]:
    from prepay.billing.models import BillingSettings, WarningPolicy
    from prepay.domain.warnings import Thresholds, WarningError

    for model in (BillingSettings, WarningPolicy):
        for row in model.objects.using(using).order_by("pk"):
            yield from _field_errors(row)
            try:
                Thresholds(level1=row.level1, level2=row.level2, overdraft=row.overdraft)
            except WarningError:
                yield Problem(
                    row,
                    "level2",
                    _(
                        "Warning levels must fall: level 1 (%(l1)s) above level 2 (%(l2)s) above the "
                        "cut-off (minus the overdraft, %(o)s)."
                    )
                    % {"l1": row.level1, "l2": row.level2, "o": row.overdraft},
                )


def _keys(using: str) -> Iterator[Problem]:
    from prepay.tokens.keystore import KeyStoreError, SoftwareKeyStore, get_keystore, load_store_key
    from prepay.tokens.models import VendingKey

    rows = list(VendingKey.objects.using(using).order_by("pk"))
    store: SoftwareKeyStore | None = None
    keystore = get_keystore()
    if rows and isinstance(keystore, SoftwareKeyStore):
        try:  # the key the store has loaded, else the configured one — never create one: a check only reads
            store = SoftwareKeyStore(keystore._store_key or load_store_key(create=False))
        except KeyStoreError as exc:
            yield Problem(rows[0], "store_key_id", str(exc))
    for row in rows:
        sgc = row.supply_group_code
        if not (len(sgc) == 6 and sgc.isdigit()):
            yield Problem(
                row, "supply_group_code", _("A supply group code is 6 digits, not %(v)s.") % {"v": sgc}
            )
        if not 1 <= row.key_revision <= 9:
            yield Problem(
                row, "key_revision", _("A key revision is 1 to 9, not %(v)s.") % {"v": row.key_revision}
            )
        if not 0 <= row.key_type <= 3:
            yield Problem(row, "key_type", _("A key type is 0 to 3, not %(v)s.") % {"v": row.key_type})
        if row.dkga not in ("02", "04"):
            yield Problem(row, "dkga", _("The key generation algorithm must be 02 or 04."))
        elif store is not None:
            yield from _decrypts(store, row)


def _decrypts(store: Any, row: Any) -> Iterator[Problem]:
    from prepay.tokens.keystore import KeyStoreError

    try:
        raw = store._vending_key(row)
    except KeyStoreError as exc:  # another store key, or an altered ciphertext, nonce or key slot
        yield Problem(row, "ciphertext" if exc.code == "key_tampered" else "store_key_id", str(exc))
        return
    except (ValueError, TypeError):  # a nonce of the wrong length
        yield Problem(
            row, "nonce", _("The stored key does not decrypt: it was altered or copied from another row.")
        )
        return
    length = len(raw)
    del raw
    want = 8 if row.dkga == "02" else 20
    if length != want:
        yield Problem(
            row, "ciphertext", _("A DKGA%(a)s vending key has %(n)s bytes.") % {"a": row.dkga, "n": want}
        )


def _points_and_sites(using: str) -> Iterator[Problem]:
    from prepay.tenancy.models import Site
    from prepay.vending.models import VendingPoint

    for site in Site.objects.using(using).order_by("pk"):
        yield from _field_errors(site, exclude=["group"])
    for point in VendingPoint.objects.using(using).order_by("pk"):
        yield from _field_errors(point, exclude=["site"])
