"""Field types of the API's request bodies.

:data:`DecimalString` is how money and energy arrive: a JSON string holding a plain decimal
(``"120.50"``; a whole JSON number such as ``120`` is accepted too). A JSON number with a fraction or
an exponent is refused (422) because its digits cannot be trusted once a client's JSON library has
turned it into a binary float; the string itself is checked by the action that uses it
(:mod:`prepay.common.amounts`: ``1E+2``, ``1_000``, ``NaN``, too many decimals → 400
``invalid_amount``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from prepay.domain.typed import MAX_DIGITS


def _as_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError('send money and energy as a decimal string, such as "120.50"')
    return str(value)


DecimalString = Annotated[
    str,
    BeforeValidator(_as_text),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^-?[0-9]{{1,{MAX_DIGITS}}}(\.[0-9]+)?$",
            "examples": ["120.50"],
            "description": "A plain decimal: digits and at most one point (no exponent or separators).",
        }
    ),
]
