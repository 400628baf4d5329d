from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _


class MeterKind(models.TextChoices):
    SINGLE_PHASE = "single_phase", _("Single-phase electricity")
    THREE_PHASE = "three_phase", _("Three-phase electricity")
    WATER = "water", _("Water")


class MeterStatus(models.TextChoices):
    IN_STOCK = "in_stock", _("In stock")
    INSTALLED = "installed", _("Installed")
    FAULTY = "faulty", _("Faulty")
    RETIRED = "retired", _("Retired")


class TokenSystem(models.TextChoices):
    NONE = "none", _("None (remote or card only)")
    STS = "sts", _("STS (IEC 62055-41)")
    OPENPAYGO = "openpaygo", _("OpenPAYGO Token")


class Protocol(models.TextChoices):
    MODBUS_TCP = "modbus_tcp", _("Modbus TCP")
    DLT645 = "dlt645", _("DL/T 645")
    CJT188 = "cjt188", _("CJ/T 188")
    MQTT = "mqtt", _("MQTT")


#: low-credit alarm level by meter kind (domain.md: 12 kWh single-phase, 36 kWh three-phase)
DEFAULT_ALARM_LEVEL = {
    MeterKind.SINGLE_PHASE: Decimal("12"),
    MeterKind.THREE_PHASE: Decimal("36"),
    MeterKind.WATER: Decimal("2"),
}
