"""Suspicious-consumption analysis and energy analysis: settings, daily use, scores, cases, meter items.

* :class:`AnalyticsSettings` — a site's thresholds (one row per site; absent means the defaults of
  :class:`prepay.domain.anomaly.Thresholds`), edited by the site's admin in the back office.
* :class:`DailyUsage` — one meter's day (use, falls, resets, bypass use, credit entered, time-of-use
  deltas), computed from the readings by ``prepay analyse`` in SQL; the basis of both analyses.
* :class:`Score` — an account's score and worded reasons on a day (rows only where the score is above 0:
  every other account with readings scored 0).
* :class:`Case` — an account flagged (score ≥ the site's ``flag_score``) until staff check it.
* :class:`AnalysisRun` — one site's analysis of one day (idempotent: a re-run replaces the day).
* :class:`MeterClassification` — a meter's energy item (分类分项) and area for the energy analysis.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from prepay.analytics.choices import AreaKind, CaseStatus, EnergyItem, Outcome, RunStatus
from prepay.common.fields import EnergyField, MoneyField, ScaledDecimalField
from prepay.domain.anomaly import Thresholds
from prepay.tenancy.models import ScopedManager


def _days(label: Any, default: int, low: int = 1, high: int = 366) -> Any:
    return models.PositiveSmallIntegerField(
        label, default=default, validators=[MinValueValidator(low), MaxValueValidator(high)]
    )


def _percent(label: Any, default: int) -> Any:
    return models.PositiveSmallIntegerField(
        label, default=default, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )


bands_validator = RegexValidator(
    r"^\s*\d+(\s*,\s*\d+)*\s*$", _("Whole numbers of m², separated by commas (e.g. 60,90,120).")
)


#: settings copied to :class:`Thresholds` as they are (whole days, percentages, counts)
INTEGER_THRESHOLDS = (
    "recent_days",
    "baseline_days",
    "lookback_days",
    "min_history_days",
    "low_drop_percent",
    "low_days",
    "peer_drop_percent",
    "peer_min_accounts",
    "zero_days",
    "jump_factor",
    "tamper_count",
    "tamper_window_days",
    "offline_days",
    "token_days",
    "token_window_days",
    "token_rise_percent",
    "flag_score",
    "false_alarm_days",
    "false_alarm_percent",
)


class AnalyticsSettings(models.Model):
    """A site's thresholds for the suspicious-consumption analysis (用电可疑户分析)."""

    site = models.OneToOneField(
        "tenancy.Site", on_delete=models.CASCADE, related_name="analytics_settings", verbose_name=_("site")
    )
    recent_days = _days(_("recent window (days)"), 7, 1, 31)
    baseline_days = _days(_("baseline (days)"), 56, 14, 365)
    lookback_days = _days(_("streak look-back (days)"), 28, 1, 120)
    min_history_days = _days(_("history needed (days)"), 14, 3, 365)
    low_drop_percent = _percent(_("low use: below its own baseline by (%)"), 70)
    low_days = _days(_("low use: days in a row"), 5, 1, 60)
    min_baseline_kwh = EnergyField(_("smallest usual use checked (kWh/day)"), default=Decimal("0.5"))
    robust_z = ScaledDecimalField(_("robust z-score"), places=2, default=Decimal("3.5"))
    peer_drop_percent = _percent(_("low against peers: below their median by (%)"), 75)
    peer_min_accounts = _days(_("fewest peers to compare with"), 5, 3, 1000)
    size_bands = models.CharField(
        _("unit size bands (m²)"), max_length=100, default="60,90,120,180", validators=[bands_validator]
    )
    near_zero_kwh = EnergyField(_("near-zero use (kWh/day)"), default=Decimal("0.1"))
    zero_days = _days(_("zero use: days in a row"), 5, 1, 60)
    bypass_min_kwh = EnergyField(_("bypass: least energy (kWh)"), default=Decimal("0.5"))
    backwards_min_kwh = EnergyField(_("backwards: least fall (kWh)"), default=Decimal("0.1"))
    jump_factor = _days(_("jump: times the usual rate"), 30, 2, 10000)
    jump_min_kwh = EnergyField(_("jump: least step (kWh)"), default=Decimal("5"))
    tamper_count = _days(_("tamper events that flag"), 2, 1, 100)
    tamper_window_days = _days(_("tamper window (days)"), 30, 1, 366)
    offline_days = _days(_("offline for (days)"), 7, 1, 366)
    token_days = _days(_("days allowed to enter a token"), 2, 1, 60)
    token_window_days = _days(_("token window (days)"), 30, 2, 366)
    # xgettext:no-python-format
    token_rise_percent = _percent(_("credit rise expected (% of the tokens)"), 50)
    flag_score = _percent(_("score that opens a case"), 50)
    false_alarm_days = _days(_("a false alarm lowers the score for (days)"), 30, 1, 366)
    false_alarm_percent = _percent(_("a false alarm lowers the score by (%)"), 50)

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("analysis settings")
        verbose_name_plural = _("analysis settings")

    def __str__(self) -> str:
        return str(self.site)

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.lookback_days is not None and self.recent_days and self.lookback_days < self.recent_days:
            errors["lookback_days"] = _("The streak look-back must be at least the recent window.")
        if self.min_history_days and self.baseline_days and self.min_history_days > self.baseline_days:
            errors["min_history_days"] = _("The history needed cannot be longer than the baseline.")
        if self.token_days and self.token_window_days and self.token_days >= self.token_window_days:
            errors["token_days"] = _("The days allowed to enter a token must be fewer than the token window.")
        if self.robust_z is not None and not Decimal("0.5") <= Decimal(self.robust_z) <= Decimal("50"):
            errors["robust_z"] = _("Enter a z-score between 0.5 and 50.")
        if errors:
            raise ValidationError(errors)

    @property
    def bands(self) -> tuple[int, ...]:
        return tuple(sorted({int(b) for b in self.size_bands.replace(" ", "").split(",") if b}))

    def thresholds(self) -> Thresholds:
        """The domain's view of these settings (energies in Wh)."""

        def wh(v: Decimal) -> int:
            return int(Decimal(v) * 1000)

        plain = {name: getattr(self, name) for name in INTEGER_THRESHOLDS}
        plain.update(
            min_baseline=wh(self.min_baseline_kwh),
            near_zero=wh(self.near_zero_kwh),
            bypass_min=wh(self.bypass_min_kwh),
            backwards_min=wh(self.backwards_min_kwh),
            jump_min=wh(self.jump_min_kwh),
            robust_z=float(self.robust_z),
        )
        return Thresholds(**plain)

    @classmethod
    def for_site(cls, site_id: int) -> AnalyticsSettings:
        """The site's settings, or unsaved defaults."""
        return cls.objects.filter(site_id=site_id).first() or cls(site_id=site_id)


class DailyUsage(models.Model):
    """One meter's day (site wall clock); see :mod:`prepay.domain.anomaly.daily` for each figure."""

    meter = models.ForeignKey(
        "meters.Meter", on_delete=models.CASCADE, related_name="+", verbose_name=_("meter")
    )
    site = models.ForeignKey(
        "tenancy.Site", on_delete=models.CASCADE, related_name="+", verbose_name=_("site")
    )
    account = models.ForeignKey(
        "customers.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    day = models.DateField(_("day"))
    readings = models.PositiveIntegerField(_("readings"), default=0)
    open_readings = models.PositiveIntegerField(default=0)
    exhausted_readings = models.PositiveIntegerField(default=0)
    first_at = models.DateTimeField(null=True)
    last_at = models.DateTimeField(null=True)
    usage = EnergyField(_("use"), default=Decimal(0))
    backwards = EnergyField(default=Decimal(0))
    backwards_steps = models.PositiveIntegerField(default=0)
    reset_steps = models.PositiveIntegerField(default=0)
    reset_drop = EnergyField(null=True)
    reset_at = models.DateTimeField(null=True)
    reset_from = EnergyField(null=True)
    reset_to = EnergyField(null=True)
    max_step = EnergyField(null=True)
    max_step_secs = models.BigIntegerField(null=True)
    max_step_at = models.DateTimeField(null=True)
    bypass = EnergyField(default=Decimal(0))
    bypass_steps = models.PositiveIntegerField(default=0)
    credit_added = MoneyField(default=Decimal(0))
    sharp = EnergyField(null=True)
    peak = EnergyField(null=True)
    flat = EnergyField(null=True)
    valley = EnergyField(null=True)
    last_register = EnergyField(null=True)
    last_energy = EnergyField(null=True)
    last_balance = MoneyField(null=True)
    last_sharp = EnergyField(null=True)
    last_peak = EnergyField(null=True)
    last_flat = EnergyField(null=True)
    last_valley = EnergyField(null=True)

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("daily use")
        verbose_name_plural = _("daily use")
        constraints = [models.UniqueConstraint(fields=["meter", "day"], name="dailyusage_meter_day")]
        indexes = [
            models.Index(fields=["site", "day"], name="dailyusage_site_day"),
            models.Index(fields=["account", "day"], name="dailyusage_account_day"),
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.day}"


class Score(models.Model):
    site = models.ForeignKey(
        "tenancy.Site", on_delete=models.CASCADE, related_name="+", verbose_name=_("site")
    )
    account = models.ForeignKey(
        "customers.Account", on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    day = models.DateField(_("day"))
    score = models.PositiveSmallIntegerField(_("score"))
    raw_score = models.PositiveSmallIntegerField(_("score before feedback"))
    reasons = models.JSONField(_("reasons"), default=list)

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        constraints = [models.UniqueConstraint(fields=["account", "day"], name="score_account_day")]
        indexes = [models.Index(fields=["site", "day", "score"], name="score_site_day")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day} {self.score}"


class Case(models.Model):
    """An account flagged by the analysis, from the first day it was flagged until staff check it."""

    site = models.ForeignKey(
        "tenancy.Site", on_delete=models.PROTECT, related_name="+", verbose_name=_("site")
    )
    account = models.ForeignKey(
        "customers.Account",
        on_delete=models.PROTECT,
        related_name="analytics_cases",
        verbose_name=_("account"),
    )
    opened_on = models.DateField(_("flagged since"))
    last_day = models.DateField(_("last flagged"))
    score = models.PositiveSmallIntegerField(_("score"))
    reasons = models.JSONField(_("reasons"), default=list)
    # ",bypass,low_own," — the reasons' codes, so lists filter by signal on every database
    signals = models.CharField(_("signals"), max_length=300, blank=True, default="")
    status = models.CharField(_("status"), max_length=8, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("checked by"),
    )
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("suspicious case")
        verbose_name_plural = _("suspicious cases")
        ordering = ["-score", "-last_day", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(status="open"), name="case_one_open_per_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.opened_on}"


class AnalysisRun(models.Model):
    site = models.ForeignKey(
        "tenancy.Site", on_delete=models.CASCADE, related_name="+", verbose_name=_("site")
    )
    day = models.DateField(_("day"))
    status = models.CharField(_("status"), max_length=8, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    meters = models.PositiveIntegerField(_("meters"), default=0)
    scored = models.PositiveIntegerField(_("accounts with a score"), default=0)
    flagged = models.PositiveIntegerField(_("accounts flagged"), default=0)
    error = models.CharField(_("error"), max_length=300, blank=True)

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("analysis run")
        verbose_name_plural = _("analysis runs")
        constraints = [models.UniqueConstraint(fields=["site", "day"], name="analysisrun_site_day")]

    def __str__(self) -> str:
        return f"{self.site} {self.day}"


class MeterClassification(models.Model):
    """Where a meter's energy goes: its item (分类分项) and its area (building, floor, unit, public).

    A meter without a row counts as unclassified, in the building and floor of the unit it serves.
    """

    meter = models.OneToOneField(
        "meters.Meter", on_delete=models.CASCADE, related_name="classification", verbose_name=_("meter")
    )
    item = models.CharField(_("energy item"), max_length=2, choices=EnergyItem.choices)
    area_kind = models.CharField(_("area"), max_length=8, choices=AreaKind.choices, default=AreaKind.UNIT)
    building = models.ForeignKey(
        "customers.Building", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    floor = models.SmallIntegerField(_("floor"), null=True, blank=True)
    unit = models.ForeignKey(
        "customers.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    label = models.CharField(_("label"), max_length=100, blank=True)

    objects = ScopedManager()
    scope_group = "meter__group"
    scope_site: str | None = "meter__site"

    class Meta:
        verbose_name = _("meter energy item")
        verbose_name_plural = _("meter energy items")

    def __str__(self) -> str:
        return f"{self.meter} {self.item}"

    def clean(self) -> None:
        super().clean()
        meter_site = self.meter.site_id if self.meter_id else None
        unit, building = self.unit if self.unit_id else None, self.building if self.building_id else None
        if unit is not None and building is not None and unit.building_id != building.pk:
            raise ValidationError({"unit": _("The unit is not in that building.")})
        if building is not None and meter_site and building.site_id != meter_site:
            raise ValidationError({"building": _("The building is at another site than the meter.")})
        if unit is not None and meter_site and unit.building.site_id != meter_site:
            raise ValidationError({"unit": _("The unit is at another site than the meter.")})
        if self.area_kind == AreaKind.UNIT and unit is None and building is not None:
            raise ValidationError({"unit": _("Choose the unit, or another kind of area.")})
