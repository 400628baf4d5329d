"""The upload form of the import page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

#: refuse uploads bigger than this (a 50,000-row workbook is far smaller)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024

KIND_CHOICES = [
    ("units", _("Units (and buildings)")),
    ("customers", _("Customers (and accounts)")),
    ("meters", _("Meters")),
]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What to import"), choices=KIND_CHOICES)
    file = forms.FileField(label=_("CSV or Excel (.xlsx) file"))
    dry_run = forms.BooleanField(label=_("Check only (dry run): write nothing"), required=False)

    def clean_file(self) -> Any:
        f = self.cleaned_data["file"]
        if f.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB; split it.") % {"mb": MAX_UPLOAD_BYTES // 2**20}
            )
        return f
