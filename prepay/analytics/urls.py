"""Include under ``analytics/``: ``path("analytics/", include("prepay.analytics.urls"))`` in prepay/urls.py."""

from __future__ import annotations

from django.urls import path

import prepay.analytics.energy_views as energy_views
from prepay.analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.cases, name="cases"),
    path("cases/<int:pk>/", views.case, name="case"),
    path("cases/<int:pk>/evidence.json", views.evidence, name="evidence"),
    path("cases/<int:pk>/check/", views.check, name="check"),
    path("energy/", energy_views.index, name="energy-index"),
    path("energy/<int:site>/", energy_views.energy, name="energy"),
    path("energy/<int:site>/data.json", energy_views.data, name="energy-data"),
]
