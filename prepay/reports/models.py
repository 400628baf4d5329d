"""Exports prepared in the background: a report's rows written to a file a chunk at a time, with
progress, then downloaded by the person who asked (prepay/reports/export_jobs.py)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    RUNNING = "running", _("Being prepared")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class ExportJob(models.Model):
    """One Excel export of one report with the filters it was asked with, read in the scope of the
    user who asked (only they may see or download it)."""

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    report = models.CharField(_("report exported"), max_length=32)
    params = models.CharField(_("filters asked with"), max_length=2000, blank=True)
    language = models.CharField(max_length=16)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("asked by")
    )
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True, db_index=True)
    status = models.CharField(
        _("export state"), max_length=8, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    done = models.PositiveIntegerField(_("rows written"), default=0)
    total = models.PositiveIntegerField(_("rows"), default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.CharField(_("why it failed"), max_length=300, blank=True)
    filename = models.CharField(_("file name"), max_length=120, blank=True)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("background export")
        verbose_name_plural = _("background exports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.report} {self.token}"

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        return min(int(self.done * 100 / self.total), 99) if self.total else 0

    @property
    def active(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)
