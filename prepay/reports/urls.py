from __future__ import annotations

from django.urls import path

from prepay.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/data.json", views.dashboard_data, name="dashboard-data"),
    path("dashboard/live.json", views.live, name="live"),
    path("<slug:slug>/", views.report, name="report"),
]
