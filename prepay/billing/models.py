"""Remote fee control and billing: charges from readings, supply state (warnings / cut-off), protected
supply, fees, postpaid bills, water tier basis, public-area apportionment, meter trees for line loss,
and the billing jobs the ``runbilling`` daemon claims.

Money never sits in a mutable balance here: every charge, fee, share and bill payment points at the
ledger entry (prepay.vending.LedgerEntry) that moved the money. Rows here are the *why* (period,
energy, breakdown) next to the ledger's *how much*.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from prepay.common.fields import EnergyField, MoneyField, ScaledDecimalField
from prepay.customers.choices import Utility
from prepay.domain.charging import CARRY_PLACES
from prepay.meters.choices import MeterKind
from prepay.tenancy.models import ScopedManager


class BillingSettings(models.Model):
    """Per-site billing rules (one row per site; absent means the defaults below)."""

    site = models.OneToOneField(
        "tenancy.Site", on_delete=models.CASCADE, related_name="billing_settings", verbose_name=_("site")
    )
    level1 = MoneyField(_("warning level 1"), default=Decimal("20.00"))
    level2 = MoneyField(_("warning level 2 (reminder cut)"), default=Decimal("5.00"))
    overdraft = MoneyField(_("permitted overdraft"), default=Decimal("0.00"))
    cut_on_fee_arrears = models.BooleanField(_("cut supply on fee arrears"), default=False)
    bill_due_days = models.PositiveSmallIntegerField(_("days to pay a bill"), default=15)
    overdue_cut_days = models.PositiveSmallIntegerField(_("days overdue before cut-off"), default=10)

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("billing settings")
        verbose_name_plural = _("billing settings")

    def __str__(self) -> str:
        return str(self.site)


class LevelUnit(models.TextChoices):
    MONEY = "money", _("Money")
    ENERGY = "energy", _("Energy (kWh, m³ for water)")


class WarningPolicy(models.Model):
    """Warning levels for one account, or for a customer type and / or a meter kind (at one site or
    group-wide), in money or in energy (``unit``).

    The most specific wins: the account's own; then, at the site before group-wide, a policy naming
    both the customer type and the meter kind, then the customer type only, then the meter kind only;
    then the site's billing settings. A meter kind applies to accounts whose installed (relay) meter
    is of that kind. Energy levels are turned into money at the account's tariff price whenever the
    rule runs (:func:`prepay.domain.warnings.energy_thresholds`); the overdraft is always money.
    """

    group = models.ForeignKey(
        "tenancy.PropertyGroup", on_delete=models.CASCADE, related_name="+", verbose_name=_("group")
    )
    site = models.ForeignKey(
        "tenancy.Site",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("site"),
    )
    customer_type = models.ForeignKey(
        "customers.CustomerType",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer type"),
    )
    account = models.OneToOneField(
        "customers.Account",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="warning_policy",
        verbose_name=_("account"),
    )
    meter_kind = models.CharField(
        _("meter kind"),
        max_length=16,
        choices=MeterKind.choices,
        blank=True,
        help_text=_("Empty: any meter. Otherwise only accounts whose installed meter is of this kind."),
    )
    unit = models.CharField(
        _("levels in"),
        max_length=8,
        choices=LevelUnit.choices,
        default=LevelUnit.MONEY,
        help_text=_(
            "Energy: levels 1 and 2 are kWh (m³ for water), priced at the account's tariff when the "
            "rule runs (e.g. 12 kWh single-phase, 36 kWh three-phase); the overdraft stays money."
        ),
    )
    level1 = MoneyField(_("warning level 1"))
    level2 = MoneyField(_("warning level 2 (reminder cut)"))
    overdraft = MoneyField(_("permitted overdraft"), default=Decimal("0.00"))

    objects = ScopedManager()
    scope_group = "group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("warning policy")
        verbose_name_plural = _("warning policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(account__isnull=False) | Q(customer_type__isnull=False) | ~Q(meter_kind=""),
                name="warning_policy_for_account_type_or_kind",
            )
        ]

    def __str__(self) -> str:
        if self.account_id:
            return str(self.account)
        parts = [str(self.customer_type) if self.customer_type_id else "", self.get_meter_kind_display()]
        return " · ".join(p for p in parts if p)

    def clean(self) -> None:
        """Refuse a policy for nobody, and levels that do not fall (energy levels also above 0)."""
        from django.core.exceptions import ValidationError

        from prepay.domain.warnings import Thresholds, WarningError

        if self.account_id is None and self.customer_type_id is None and not self.meter_kind:
            raise ValidationError(_("Choose an account, a customer type or a meter kind."))
        if self.level1 is None or self.level2 is None or self.overdraft is None:
            return  # the fields' own errors are shown
        if self.unit == LevelUnit.ENERGY:
            if not self.level1 > self.level2 > 0:
                raise ValidationError(
                    {"level2": _("Energy levels must fall: level 1 above level 2, and level 2 above 0.")}
                )
            if self.overdraft < 0:
                raise ValidationError({"overdraft": _("The overdraft must not be negative.")})
            return
        try:
            Thresholds(level1=self.level1, level2=self.level2, overdraft=self.overdraft)
        except WarningError:
            raise ValidationError(
                {
                    "level2": _(
                        "Warning levels must fall: level 1 above level 2 above the cut-off (minus the overdraft)."
                    )
                }
            ) from None


class Level(models.TextChoices):
    NORMAL = "normal", _("Normal")
    LEVEL1 = "level1", _("Warning level 1")
    LEVEL2 = "level2", _("Warning level 2")
    ZERO = "zero", _("Credit exhausted")


class CutReason(models.TextChoices):
    NONE = "", _("Not cut")
    REMINDER = "reminder", _("Reminder cut (level 2)")
    ZERO = "zero", _("Cut until payment")
    OVERDUE = "overdue", _("Cut for overdue bills")
    FEES = "fees", _("Cut for fee arrears")


class SupplyState(models.Model):
    """What the warning rule remembers per account (see prepay.domain.warnings.SupplyState)."""

    account = models.OneToOneField(
        "customers.Account", on_delete=models.CASCADE, related_name="supply_state", verbose_name=_("account")
    )
    level = models.CharField(_("level"), max_length=8, choices=Level.choices, default=Level.NORMAL)
    reminder_done = models.BooleanField(_("reminder cut given"), default=False)
    cut = models.CharField(_("cut"), max_length=8, choices=CutReason.choices, default="", blank=True)
    suppressed = models.BooleanField(_("cut held back by protected supply"), default=False)
    commands = models.PositiveIntegerField(_("relay commands queued"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("supply state")
        verbose_name_plural = _("supply states")

    def __str__(self) -> str:
        return f"{self.account} {self.level}"


class ProtectedSupply(models.Model):
    """保电: never cut this account between ``starts_at`` and ``ends_at`` (audited, with a reason)."""

    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="protections", verbose_name=_("account")
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200)
    cancelled_at = models.DateTimeField(_("ended early at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("by")
    )
    #: when keep-power was queued for the account's networked relay meters (the window had begun)
    keep_power_at = models.DateTimeField(_("keep-power sent at"), null=True, blank=True)
    #: when the window's end was handled: keep-power released, or left to a protection still in force
    released_at = models.DateTimeField(_("keep-power released at"), null=True, blank=True)

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("protected supply")
        verbose_name_plural = _("protected supply")
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"{self.account} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}"


class Charge(models.Model):
    """Consumption of one meter on one account over ``[period_start, period_end)``, priced and posted.

    ``to_register`` is the register high-water mark at ``period_end`` (where the next charge starts);
    ``cycle_start`` is the tier cycle the energy counts towards. ``entry`` is the ledger debit (none
    when the amount is zero).
    """

    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="charges", verbose_name=_("account")
    )
    meter = models.ForeignKey(
        "meters.Meter", on_delete=models.PROTECT, related_name="charges", verbose_name=_("meter")
    )
    tariff = models.ForeignKey(
        "tariffs.Tariff", on_delete=models.PROTECT, related_name="+", verbose_name=_("tariff")
    )
    period_start = models.DateTimeField(_("from"))
    period_end = models.DateTimeField(_("until"))
    cycle_start = models.DateField(_("tier cycle"))
    from_register = EnergyField(_("register at start"))
    to_register = EnergyField(_("register at end"))
    energy = EnergyField(_("energy"))
    tier_energy = EnergyField(_("energy counted towards tiers"), default=Decimal("0"))
    quota_energy = EnergyField(_("flat-price quota energy"), default=Decimal("0"))
    amount = MoneyField(_("amount"))
    vat = MoneyField(_("VAT"), default=Decimal("0.00"))
    # exact price − money billed, over this meter's charges on the account up to this one (under one
    # fen either way): the next charge starts from it, so rounding never adds up across charges
    carry = ScaledDecimalField(_("rounding carried"), places=CARRY_PLACES, default=Decimal("0"))
    lines = models.JSONField(_("breakdown"), default=list, blank=True)
    flags = models.JSONField(_("flags"), default=list, blank=True)
    entry = models.OneToOneField(
        "vending.LedgerEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="charge",
        verbose_name=_("ledger entry"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("charge")
        verbose_name_plural = _("charges")
        ordering = ["account", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["meter", "period_start"], name="charge_unique_meter_start"),
        ]
        indexes = [models.Index(fields=["account", "cycle_start"], name="charge_account_cycle")]

    def __str__(self) -> str:
        return f"{self.account} {self.period_start:%Y-%m-%d %H:%M} {self.amount}"


class FeeKind(models.TextChoices):
    RENT = "rent", _("Rent")
    PROPERTY = "property", _("Property management fee")
    SERVICE = "service", _("Service fee")
    OTHER = "other", _("Other fee")


class FeeFrequency(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    ONCE = "once", _("One-off")


class FeeSchedule(models.Model):
    """A fixed fee charged to an account (or to the open account of a unit), monthly or once."""

    site = models.ForeignKey(
        "tenancy.Site", on_delete=models.PROTECT, related_name="fee_schedules", verbose_name=_("site")
    )
    unit = models.ForeignKey(
        "customers.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unit"),
    )
    account = models.ForeignKey(
        "customers.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fee_schedules",
        verbose_name=_("account"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=FeeKind.choices)
    name = models.CharField(_("name"), max_length=100)
    amount = MoneyField(_("amount"))
    frequency = models.CharField(_("frequency"), max_length=8, choices=FeeFrequency.choices)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("fee schedule")
        verbose_name_plural = _("fee schedules")
        constraints = [
            models.CheckConstraint(
                condition=Q(unit__isnull=False) | Q(account__isnull=False), name="fee_for_unit_or_account"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="fee_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.amount}"


class FeeCharge(models.Model):
    """One fee charged for one period (the month's first day, or the start date of a one-off fee)."""

    schedule = models.ForeignKey(
        FeeSchedule, on_delete=models.PROTECT, related_name="charges", verbose_name=_("fee")
    )
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="fee_charges", verbose_name=_("account")
    )
    period = models.DateField(_("period"))
    amount = MoneyField(_("amount"))
    entry = models.OneToOneField(
        "vending.LedgerEntry",
        on_delete=models.PROTECT,
        related_name="fee_charge",
        verbose_name=_("ledger entry"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("fee charge")
        verbose_name_plural = _("fee charges")
        constraints = [
            models.UniqueConstraint(fields=["schedule", "period"], name="fee_charge_once_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.schedule} {self.period}"


class Bill(models.Model):
    """A postpaid monthly bill: the account's debits (charges, fees, shares) in the period.

    ``amount`` is what the bill asks for; what has been paid is the sum of its ``payments``.
    ``settled_at`` is set when they cover it.
    """

    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="bills", verbose_name=_("account")
    )
    number = models.CharField(_("bill number"), max_length=40, unique=True)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("until"))
    amount = MoneyField(_("amount"))
    energy = EnergyField(_("energy"), default=Decimal("0"))
    lines = models.JSONField(_("breakdown"), default=list, blank=True)
    from_seq = models.PositiveIntegerField(_("first ledger entry after"))
    to_seq = models.PositiveIntegerField(_("last ledger entry"))
    issued_at = models.DateTimeField(_("issued at"))
    due_date = models.DateField(_("due date"))
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        ordering = ["account", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["account", "period_start"], name="bill_once_per_period")
        ]

    def __str__(self) -> str:
        return self.number


class BillPayment(models.Model):
    """Part of a payment (a ledger credit) allocated to a bill."""

    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="payments", verbose_name=_("bill"))
    entry = models.ForeignKey(
        "vending.LedgerEntry",
        on_delete=models.PROTECT,
        related_name="bill_payments",
        verbose_name=_("payment"),
    )
    amount = MoneyField(_("amount"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager()
    scope_group = "bill__account__site__group"
    scope_site: str | None = "bill__account__site"

    class Meta:
        verbose_name = _("bill payment")
        verbose_name_plural = _("bill payments")
        constraints = [models.UniqueConstraint(fields=["bill", "entry"], name="bill_payment_once")]

    def __str__(self) -> str:
        return f"{self.bill} {self.amount}"


class TierBasis(models.Model):
    """How a tariff's tiers apply to a household: as written, or per person (water tiers per person)."""

    tariff = models.OneToOneField(
        "tariffs.Tariff", on_delete=models.CASCADE, related_name="tier_basis", verbose_name=_("tariff")
    )
    per_person = models.BooleanField(_("tiers per person"), default=False)

    objects = ScopedManager()
    scope_group = "tariff__group"
    scope_site: str | None = "tariff__site"

    class Meta:
        verbose_name = _("tier basis")
        verbose_name_plural = _("tier bases")

    def __str__(self) -> str:
        return str(self.tariff)


class Household(models.Model):
    """The number of people an account's tiers are scaled by (tiers per person)."""

    account = models.OneToOneField(
        "customers.Account", on_delete=models.CASCADE, related_name="household", verbose_name=_("account")
    )
    persons = models.PositiveSmallIntegerField(_("persons"), default=1)

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        constraints = [models.CheckConstraint(condition=Q(persons__gte=1), name="household_persons_positive")]

    def __str__(self) -> str:
        return f"{self.account} × {self.persons}"


class ApportionMethod(models.TextChoices):
    AREA = "area", _("By floor area")
    CONSUMPTION = "consumption", _("By each unit's consumption")
    EQUAL = "equal", _("Equally")


class PublicMeterGroup(models.Model):
    """公摊: public meters whose consumption is shared among a set of units, by a method."""

    site = models.ForeignKey(
        "tenancy.Site", on_delete=models.PROTECT, related_name="public_groups", verbose_name=_("site")
    )
    name = models.CharField(_("name"), max_length=100)
    utility = models.CharField(
        _("utility"), max_length=16, choices=Utility.choices, default=Utility.ELECTRICITY
    )
    method = models.CharField(_("method"), max_length=12, choices=ApportionMethod.choices)
    price = ScaledDecimalField(_("price per kWh / m³"), places=4)
    meters = models.ManyToManyField(
        "meters.Meter", related_name="public_groups", verbose_name=_("public meters")
    )
    units = models.ManyToManyField("customers.Unit", related_name="public_groups", verbose_name=_("units"))
    active = models.BooleanField(_("active"), default=True)

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("public meter group")
        verbose_name_plural = _("public meter groups")

    def __str__(self) -> str:
        return self.name


class ApportionmentRun(models.Model):
    """One period's apportionment of a public meter group: the figures the statement shows."""

    public_group = models.ForeignKey(
        PublicMeterGroup, on_delete=models.PROTECT, related_name="runs", verbose_name=_("public meter group")
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("until"))
    method = models.CharField(_("method"), max_length=12, choices=ApportionMethod.choices)
    total_energy = EnergyField(_("public energy"))
    basis_total = models.CharField(_("basis total"), max_length=40)
    fallback = models.CharField(_("fallback"), max_length=12, blank=True)
    price = models.CharField(_("price"), max_length=20)
    meters = models.JSONField(_("public meters"), default=list)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager()
    scope_group = "public_group__site__group"
    scope_site: str | None = "public_group__site"

    class Meta:
        verbose_name = _("apportionment run")
        verbose_name_plural = _("apportionment runs")
        constraints = [
            models.UniqueConstraint(
                fields=["public_group", "period_start"], name="apportionment_once_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.public_group} {self.period_start}"


class ApportionmentShare(models.Model):
    run = models.ForeignKey(
        ApportionmentRun, on_delete=models.CASCADE, related_name="shares", verbose_name=_("run")
    )
    unit = models.ForeignKey(
        "customers.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    account = models.ForeignKey(
        "customers.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    basis = models.CharField(_("basis"), max_length=40)
    fraction = models.CharField(_("fraction"), max_length=40)
    energy = EnergyField(_("energy"))
    amount = MoneyField(_("amount"))
    entry = models.OneToOneField(
        "vending.LedgerEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="apportionment_share",
        verbose_name=_("ledger entry"),
    )

    objects = ScopedManager()
    scope_group = "run__public_group__site__group"
    scope_site: str | None = "run__public_group__site"

    class Meta:
        verbose_name = _("apportionment share")
        verbose_name_plural = _("apportionment shares")
        ordering = ["run", "unit"]

    def __str__(self) -> str:
        return f"{self.run} {self.unit} {self.energy}"


class SubMeter(models.Model):
    """A meter's place in a master/sub-meter tree (线损): its master, and the loss threshold of its branch."""

    meter = models.OneToOneField(
        "meters.Meter", on_delete=models.CASCADE, related_name="submeter", verbose_name=_("meter")
    )
    master = models.ForeignKey(
        "meters.Meter",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sub_meters",
        verbose_name=_("master meter"),
    )
    loss_threshold = ScaledDecimalField(_("loss threshold %"), places=2, default=Decimal("5"))

    objects = ScopedManager()
    scope_group = "meter__group"
    scope_site: str | None = "meter__site"

    class Meta:
        verbose_name = _("meter tree node")
        verbose_name_plural = _("meter tree")

    def __str__(self) -> str:
        return str(self.meter)


class JobKind(models.TextChoices):
    DAILY = "daily", _("Daily settlement")
    MONTHLY = "monthly", _("Monthly settlement")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class BillingJob(models.Model):
    """A settlement run for one site and period, claimed atomically by one ``runbilling`` worker."""

    kind = models.CharField(_("kind"), max_length=8, choices=JobKind.choices)
    site = models.ForeignKey(
        "tenancy.Site", on_delete=models.CASCADE, related_name="+", verbose_name=_("site")
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("until"))
    status = models.CharField(_("status"), max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    due_at = models.DateTimeField(_("due at"), db_index=True)
    claimed_by = models.CharField(_("claimed by"), max_length=64, blank=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    done = models.PositiveIntegerField(_("accounts done"), default=0)
    total = models.PositiveIntegerField(_("accounts"), default=0)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("billing job")
        verbose_name_plural = _("billing jobs")
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "site", "period_start"], name="billing_job_once_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.site} {self.period_start}"
