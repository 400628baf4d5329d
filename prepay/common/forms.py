"""Form fields for what people type at the counter and in the back office.

:class:`PlainDecimalField` is the one decimal field of every form: it reads full-width digits from a
Chinese IME, refuses what is not a plain decimal (``1E+2``, ``1_000``, ``1,000``, ``NaN``) and a value
with more decimals than the field keeps, with the same words as the actions
(:mod:`prepay.common.amounts`), and renders as a text box with the decimal keypad (a browser's
``type=number`` box drops full-width digits silently).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from prepay.common.amounts import refusal_message
from prepay.domain.typed import TypedError, ascii_text, plain_decimal


class PlainDecimalField(forms.DecimalField):
    """A DecimalField that accepts plain decimals only (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value in self.empty_values:
            return None
        try:
            return plain_decimal(value.strip() if isinstance(value, str) else value, self.decimal_places)
        except TypedError as exc:
            raise ValidationError(
                refusal_message(exc.reason, _("The value"), self.decimal_places), code="invalid"
            ) from None

    def widget_attrs(self, widget: Any) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.pop("step", None)  # a text box: no spinner steps
        return attrs


class CodeField(forms.CharField):
    """A meter serial, account or customer number as typed: full-width characters from a Chinese IME
    are read as ASCII (``Ｍ００１`` is ``M001``), surrounding spaces dropped."""

    def to_python(self, value: Any) -> str:
        text = super().to_python(value) or ""
        return ascii_text(text).strip()
