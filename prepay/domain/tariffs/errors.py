"""Errors raised by the tariff engine.

Both carry machine-readable parts (``field`` / ``code`` and ``params``) so the web layer can translate
them; the English ``str()`` is for logs and tests. prepay.domain never imports Django's gettext.
"""

from __future__ import annotations

from typing import Any


class TariffError(ValueError):
    """A tariff definition (or a tariff-related argument) is invalid.

    ``field`` is the dotted path of the offending value inside the tariff dict, e.g.
    ``"blocks[1].upto"`` or ``"seasons[0].schedule[2]"``; empty when the error is not about a field.
    ``code`` names the rule that was broken (``must_exceed``, ``gap``, ``no_price`` …; ``invalid`` when
    no finer code applies) and ``params`` holds the values its message needs, so a form can say the
    same thing in the person's language (prepay.tariffs.messages).
    """

    def __init__(self, field: str, message: str, code: str = "invalid", **params: Any) -> None:
        self.field = field
        self.message = message
        self.code = code
        self.params = params
        super().__init__(f"{field}: {message}" if field else message)


class PurchaseError(ValueError):
    """A purchase cannot be quoted: below the minimum, above the maximum, too small, …

    ``code`` is one of ``below_minimum``, ``above_maximum``, ``not_positive``, ``too_many_places``,
    ``fixed_charges_not_covered``, ``too_small_for_any_energy``; ``params`` holds the numbers.
    """

    def __init__(self, code: str, message: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(message)
