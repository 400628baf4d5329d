from __future__ import annotations

from django.urls import path

from prepay.reconciliation import views as reconciliation
from prepay.reports import export_views, views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/data.json", views.dashboard_data, name="dashboard-data"),
    path("dashboard/live.json", views.live, name="live"),
    path("reconciliation/", reconciliation.periods, name="reconciliation"),
    path("reconciliation/<int:site_id>/<str:start>/", reconciliation.sheet, name="reconciliation-sheet"),
    path(
        "reconciliation/<int:site_id>/<str:start>/handover/",
        reconciliation.handover,
        name="reconciliation-handover",
    ),
    path(
        "reconciliation/<int:site_id>/<str:start>/sign-off/",
        reconciliation.sign_off,
        name="reconciliation-sign-off",
    ),
    path("exports/", export_views.exports, name="exports"),
    path("exports/<uuid:token>/download/", export_views.download, name="export-download"),
    path("<slug:slug>/export/", export_views.ask, name="export-ask"),
    path("<slug:slug>/", views.report, name="report"),
]
