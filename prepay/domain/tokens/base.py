"""Token-system interface shared by STS and OpenPAYGO, plus a registry.

A *device* is a plain mapping of the per-meter secrets and counters a token system needs;
results carry the updated device ``state`` so that callers can persist it.  Implementations
are pure (no I/O) and raise ``ValueError`` subclasses (``StsError`` for STS) on bad input.

STS device mapping: ``decoder_key`` (16 hex), ``base_date`` (1993/2014/2035, default 1993),
``subclass`` (credit register 0..7, default 0), ``encryption_algorithm`` (default ``"07"``),
optional ``ken``.  OpenPAYGO device mapping: see :mod:`.openpaygo`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class CreditResult:
    """A generated credit token, its human form and the updated device state."""

    token: str
    display: str
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """Outcome of decoding a token for a device. ``code`` is a stable snake_case string."""

    valid: bool
    code: str
    kind: str | None = None
    amount: Decimal | None = None
    details: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)


class TokenSystem(abc.ABC):
    """A prepaid token system: makes credit tokens and decodes tokens for one device."""

    name: ClassVar[str]

    @abc.abstractmethod
    def credit_token(
        self, device: Mapping[str, Any], amount: Decimal | int | str, *, issued_at: datetime | None = None
    ) -> CreditResult:
        """Make a token crediting ``amount`` (system-specific unit) to ``device``."""

    @abc.abstractmethod
    def decode_token(self, device: Mapping[str, Any], token: str) -> DecodeResult:
        """Decode ``token`` for ``device``; invalid tokens give ``valid=False``, not exceptions."""


class StsTokenSystem(TokenSystem):
    """STS adapter over :mod:`prepay.domain.tokens.sts.api`. Amount unit per credit subclass."""

    name = "sts"

    def credit_token(
        self, device: Mapping[str, Any], amount: Decimal | int | str, *, issued_at: datetime | None = None
    ) -> CreditResult:
        from .sts import api
        from .sts.token import group_token

        when = issued_at or datetime.now().replace(second=0, microsecond=0)
        issued = api.credit_token(
            device["decoder_key"],
            int(device.get("subclass", 0)),
            amount,
            issued_at=when,
            base_date=int(device.get("base_date", 1993)),
            ken=device.get("ken"),
            algorithm=str(device.get("encryption_algorithm", "07")),
        )
        return CreditResult(issued.token, group_token(issued.token), {"last_tid": issued.tid})

    def decode_token(self, device: Mapping[str, Any], token: str) -> DecodeResult:
        from .sts import api
        from .sts.batch import describe
        from .sts.errors import StsError

        try:
            fields = api.decode(
                token, device.get("decoder_key"), algorithm=str(device.get("encryption_algorithm", "07"))
            )
        except StsError as exc:
            return DecodeResult(False, exc.code)
        details = describe(fields, int(device.get("base_date", 1993)))
        amount = Decimal(details["amount"]) if "amount" in details else None
        return DecodeResult(True, "accepted", details["kind"], amount, details)


_FACTORIES: dict[str, Callable[[], TokenSystem]] = {"sts": StsTokenSystem}


def _openpaygo() -> TokenSystem:
    from .openpaygo import OpenPaygoTokenSystem

    return OpenPaygoTokenSystem()


_FACTORIES["openpaygo"] = _openpaygo


def get_token_system(name: str) -> TokenSystem:
    """Token system by name: ``"sts"`` or ``"openpaygo"``; ``KeyError`` for unknown names."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise KeyError(f"unknown token system {name!r}; known: {', '.join(sorted(_FACTORIES))}") from None
    return factory()


def token_system_names() -> list[str]:
    """Names accepted by :func:`get_token_system`."""
    return sorted(_FACTORIES)
