"""URLconf for the import tests: the project's URLs plus the import app (until prepay/urls.py includes it)."""

from __future__ import annotations

from django.urls import include, path

from prepay.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *[p for p in project_urlpatterns if getattr(p, "namespace", None) != "imports"],
    path("import/", include("prepay.imports.urls")),
]
