"""Choices of the analysis app: case status and outcome, run status, and the energy items (分类分项)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CHECKED = "checked", _("Checked")


class Outcome(models.TextChoices):
    """What a site visit found. A false alarm (or a vacancy confirmed) lowers the account's score for
    a while; the others leave it as it is, so the case comes back while the problem lasts."""

    FALSE_ALARM = "false_alarm", _("False alarm")
    VACANT = "vacant", _("Vacant (confirmed)")
    THEFT = "theft", _("Theft confirmed")
    METER_FAULT = "meter_fault", _("Meter fault")
    OTHER = "other", _("Other")


#: outcomes that lower the account's score for ``false_alarm_days``
LOWERING = frozenset({Outcome.FALSE_ALARM, Outcome.VACANT})


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class EnergyItem(models.TextChoices):
    """Energy items and sub-items of the building-energy monitoring guideline (国家机关办公建筑和大型公共
    建筑能耗监测系统 分项能耗数据采集技术导则, with JGJ/T 154): A lighting and sockets, B HVAC, C power,
    D special. The first letter is the item; a digit names a sub-item."""

    A = "A", _("A · Lighting and sockets")
    A1 = "A1", _("A1 · Room lighting and sockets")
    A2 = "A2", _("A2 · Corridor and emergency lighting")
    A3 = "A3", _("A3 · Outdoor and landscape lighting")
    B = "B", _("B · HVAC")
    B1 = "B1", _("B1 · Cooling and heating plant")
    B2 = "B2", _("B2 · Air-conditioning terminals")
    C = "C", _("C · Power")
    C1 = "C1", _("C1 · Lifts")
    C2 = "C2", _("C2 · Water pumps")
    C3 = "C3", _("C3 · Fans and ventilation")
    D = "D", _("D · Special")
    D1 = "D1", _("D1 · Data centre")
    D2 = "D2", _("D2 · Laundry")
    D3 = "D3", _("D3 · Kitchen and canteen")
    D4 = "D4", _("D4 · Swimming pool")
    D5 = "D5", _("D5 · Gym")
    D6 = "D6", _("D6 · Other special use")


#: the four items (first letters); meters without a classification count as "unclassified"
ITEMS = ("A", "B", "C", "D")


class AreaKind(models.TextChoices):
    BUILDING = "building", _("Building")
    FLOOR = "floor", _("Floor")
    UNIT = "unit", _("Unit")
    PUBLIC = "public", _("Public area")
