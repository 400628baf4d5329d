from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class PrepayAdminConfig(AdminConfig):
    """Django's admin with Prepay's membership-scoped site as the default ``admin.site``."""

    default_site = "prepay.common.admin.PrepayAdminSite"
