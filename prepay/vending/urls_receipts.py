"""Receipt URLs, mounted at ``/r/``: the public verification page (the QR code's target) and the
signed-in print view, PDF and ESC/POS downloads."""

from __future__ import annotations

from django.urls import path

from prepay.vending import views_receipts as views

app_name = "receipts"

urlpatterns = [
    path("<str:code>/", views.verify, name="verify"),
    path("<str:code>/print/", views.print_view, name="print"),
    path("<str:code>/pdf/", views.pdf, name="pdf"),
    path("<str:code>/escpos/", views.escpos, name="escpos"),
]
