"""Payment URLs, mounted at ``/payments/``."""

from __future__ import annotations

from django.urls import path

from prepay.payments import views

app_name = "payments"

urlpatterns = [
    path("notify/<int:provider_id>/", views.notify, name="notify"),
    path("sim/<str:number>/", views.simulated, name="simulated"),
]
