"""Include under ``messages/``: ``path("messages/", include("prepay.messaging.urls"))`` in prepay/urls.py."""

from __future__ import annotations

from django.urls import path

from prepay.messaging import views

app_name = "messaging"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("new/", views.compose, name="compose"),
    path("badge/", views.badge, name="badge"),
    path("read/", views.mark_all_read, name="mark_all_read"),
    path("<int:pk>/", views.detail, name="detail"),
]
