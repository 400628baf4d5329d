"""Forms of the analysis screens: the check of a case."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from prepay.analytics.actions import NOTE_MAX
from prepay.analytics.choices import Outcome


class CheckForm(forms.Form):
    """What a site visit found; the action validates again (the form only parses)."""

    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", "—"), *Outcome.choices], required=False)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX + 1,  # one more, so the action's own message names the limit
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": NOTE_MAX}),
        help_text=_("What was found on site: the meter, the seal, the people, the readings."),
    )
