"""Include under ``import/``: ``path("import/", include("prepay.imports.urls"))`` in prepay/urls.py."""

from __future__ import annotations

from django.urls import path, re_path

from prepay.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.import_page, name="import"),
    re_path(
        r"^template/(?P<kind>units|customers|meters)\.(?P<fmt>csv|xlsx)$",
        views.template_download,
        name="template",
    ),
]
