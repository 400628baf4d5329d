from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from prepay.api.api import api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("import/", include("prepay.imports.urls")),
    path("counter/", include("prepay.counter.urls")),
    path("r/", include("prepay.vending.urls_receipts")),  # receipts: verify (public), print, pdf, escpos
    path("reports/", include("prepay.reports.urls")),
    path("analytics/", include("prepay.analytics.urls")),  # suspicious consumption, energy analysis
    path("messages/", include("prepay.messaging.urls")),  # operator messages (网上交谈)
    path("payments/", include("prepay.payments.urls")),  # provider notifications, the simulated wallet
    path("portal/", include("prepay.portal.urls")),  # the customer self-service portal
    path("", include("prepay.web.urls")),
]
