"""The message form: whom to (a site, the whole group, a person) and the text."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from prepay.messaging import queries
from prepay.messaging.models import MAX_BODY
from prepay.tenancy.models import PropertyGroup, Site


class MessageForm(forms.Form):
    """``to`` lists only where ``user`` may write (:func:`queries.destinations`); the body is checked
    by the action (empty, too long, control characters) so the words are the same everywhere."""

    to = forms.ChoiceField(label=_("Send to"))
    body = forms.CharField(
        label=_("Message"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": MAX_BODY}),
    )

    def __init__(self, *args: Any, user: Any, account: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.account = account
        groups: dict[str, list[tuple[str, str]]] = {"site": [], "group": [], "person": []}
        for d in queries.destinations(user, account):
            groups[d.kind].append((d.key, d.label))
        names = {"site": _("Sites"), "group": _("Whole group"), "person": _("People")}
        choices: list[Any] = [("", _("Choose…"))]
        choices += [(names[k], v) for k, v in groups.items() if v]
        to = cast(forms.ChoiceField, self.fields["to"])
        to.choices = choices
        to.error_messages["required"] = _("Choose whom the message is for.")
        to.error_messages["invalid_choice"] = _(
            "You cannot write there: choose a site, your group or a person from the list."
        )

    def address(self) -> dict[str, Any]:
        """The chosen destination as keyword arguments of ``do_send_message`` (after is_valid)."""
        kind, _sep, pk = self.cleaned_data["to"].partition(":")
        model: Any = {"site": Site, "group": PropertyGroup, "user": get_user_model()}[kind]
        key = {"site": "site", "group": "group", "user": "recipient"}[kind]
        return {key: model.objects.get(pk=int(pk))}
