from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "prepay.api"
    label = "api"
    verbose_name = _("Vending API")

    def ready(self) -> None:
        # four eyes means two people: a request made through an API client is its creator's
        from prepay.api.identity import require_different_people
        from prepay.vending.approvals import register_same_person_check

        register_same_person_check(require_different_people)
