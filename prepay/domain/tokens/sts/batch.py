"""JSON-lines machine interface (``prepay sts batch`` / ``python -m ...sts.cli batch``).

One JSON object per input line, one JSON object per output line, same order.  A bad line
yields ``{"error": {"code": ..., "message": ...}}`` and the batch continues.  Blank lines
(only whitespace) are skipped and produce no output line.  If a request has an ``"id"``
member it is echoed unchanged in its response (success or error).  The full schema is in
``docs/sts-batch.md``.

JSON numbers with a fraction are parsed as :class:`~decimal.Decimal` (never float), so
``"amount": 25.6`` and ``"amount": "25.6"`` are equivalent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TextIO

from . import amount as amt
from . import api
from .errors import InvalidInputError, StsError
from .keys import BASE_DATE_YEARS, DecoderKey
from .tid import datetime_from_tid, format_issued_at, parse_issued_at
from .token import (
    CurrencyCreditToken,
    MeterTestToken,
    RawToken,
    Set1stSectionDecoderKeyToken,
    Set2ndSectionDecoderKeyToken,
    Set3rdSectionDecoderKeyToken,
    StandardCreditToken,
    Token,
    token_class_of,
)

Request = Mapping[str, Any]
_MISSING = object()

KIND_NAMES: dict[tuple[int, int], str] = {
    (0, 0): "electricity_credit",
    (0, 1): "water_credit",
    (0, 2): "gas_credit",
    (0, 3): "time_credit",
    (0, 4): "electricity_currency_credit",
    (0, 5): "water_currency_credit",
    (0, 6): "gas_currency_credit",
    (0, 7): "time_currency_credit",
    (1, 0): "initiate_meter_test",
    (1, 1): "initiate_meter_test",
    (2, 0): "set_max_power_limit",
    (2, 1): "clear_credit",
    (2, 2): "set_tariff_rate",
    (2, 3): "set_1st_section_decoder_key",
    (2, 4): "set_2nd_section_decoder_key",
    (2, 5): "clear_tamper",
    (2, 6): "set_max_phase_power_unbalance_limit",
    (2, 7): "set_water_meter_factor",
    (2, 8): "set_3rd_section_decoder_key",
}


def _err(code: str, message: str) -> InvalidInputError:
    return InvalidInputError(message, code=code)


def _get(req: Request, name: str, default: Any = _MISSING) -> Any:
    value = req.get(name, _MISSING)
    if value is _MISSING or value is None:
        if default is _MISSING:
            raise _err("missing_field", f"field '{name}' is required")
        return default
    return value


def _int(req: Request, name: str, default: Any = _MISSING) -> int:
    value = _get(req, name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _err("invalid_field", f"field '{name}' must be an integer")
    return value


def _bool(req: Request, name: str, default: bool) -> bool:
    value = _get(req, name, default)
    if not isinstance(value, bool):
        raise _err("invalid_field", f"field '{name}' must be true or false")
    return value


def _str(req: Request, name: str, default: Any = _MISSING) -> str:
    value = _get(req, name, default)
    if not isinstance(value, str):
        raise _err("invalid_field", f"field '{name}' must be a string")
    return value


def _amount(req: Request, name: str) -> Decimal:
    value = _get(req, name)
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _err("invalid_field", f"field '{name}' must be a decimal string or number")
    return amt.to_decimal(value, name)


def _tariff_index(req: Request, name: str) -> int:
    value = _get(req, name)
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _err("invalid_field", f"field '{name}' must be a 2-digit string or an integer")


class BatchProcessor:
    """Processes batch requests; caches derived decoder keys between lines."""

    def __init__(self) -> None:
        self._key_cache: dict[str, tuple[int, int, str]] = {}
        self._ops: dict[str, Callable[[Request], dict[str, Any]]] = {
            "decoder_key": self._op_decoder_key,
            "credit": self._op_credit,
            "management": self._op_management,
            "test": self._op_test,
            "key_change": self._op_key_change,
            "decode": self._op_decode,
        }

    # -------------------------------------------------------------- framing

    def process_line(self, line: str) -> dict[str, Any] | None:
        """Response object for one input line, or None for a blank line."""
        if not line.strip():
            return None
        try:
            req = json.loads(line, parse_float=Decimal)
        except ValueError:
            return {"error": {"code": "invalid_json", "message": "line is not valid JSON"}}
        if not isinstance(req, dict):
            return {"error": {"code": "invalid_request", "message": "each line must be a JSON object"}}
        return self.process(req)

    def process(self, req: Request) -> dict[str, Any]:
        """Response object for one decoded request (never raises)."""
        try:
            op = req.get("op")
            handler = self._ops.get(op) if isinstance(op, str) else None
            if handler is None:
                raise _err("unknown_op", f"unknown op; expected one of {', '.join(sorted(self._ops))}")
            response = handler(req)
        except StsError as exc:
            response = {"error": exc.to_dict()}
        except Exception as exc:  # the batch must go on whatever one line does
            response = {"error": {"code": "internal_error", "message": type(exc).__name__}}
        if "id" in req:
            response = {"id": req["id"], **response}
        return response

    # -------------------------------------------------------------- keys

    def _derive(self, key: Any) -> tuple[int, int, str]:
        """(decoder key, key base date, encryption algorithm) for a K object, cached."""
        if not isinstance(key, dict):
            raise _err("invalid_field", "field 'key' must be an object")
        cache_key = json.dumps(key, sort_keys=True, default=str)
        hit = self._key_cache.get(cache_key)
        if hit is None:
            params = api.key_parameters(key)
            hit = (api.decoder_key(params).value, params.base_date, params.encryption_algorithm)
            if len(self._key_cache) > 4096:
                self._key_cache.clear()
            self._key_cache[cache_key] = hit
        return hit

    def _key_and_base(self, req: Request) -> tuple[int, int, str]:
        has_key, has_dk = req.get("key") is not None, req.get("decoder_key") is not None
        if has_key and has_dk:
            raise _err("conflicting_fields", "give either 'key' or 'decoder_key', not both")
        base = _int(req, "base_date", None) if req.get("base_date") is not None else None
        if has_key:
            dk, key_base, algorithm = self._derive(req["key"])
            if base is not None and base != key_base:
                raise _err("base_date_mismatch", "'base_date' differs from the key's base_date")
            base = key_base
        elif has_dk:
            dk = DecoderKey.from_hex(_str(req, "decoder_key")).value
            algorithm = _str(req, "encryption_algorithm", "07")
        else:
            raise _err("missing_field", "field 'key' or 'decoder_key' is required")
        if base is None:
            base = 1993
        if base not in BASE_DATE_YEARS:
            raise _err("out_of_range", "base_date must be 1993, 2014 or 2035")
        return dk, base, algorithm

    @staticmethod
    def _when(req: Request) -> tuple[datetime | None, int | None]:
        if req.get("issued_at") is not None:
            if req.get("tid") is not None:
                raise _err("conflicting_fields", "give either 'issued_at' or 'tid', not both")
            return parse_issued_at(_str(req, "issued_at")), None
        if req.get("tid") is not None:
            return None, _int(req, "tid")
        raise _err("missing_field", "field 'issued_at' (or 'tid') is required")

    # -------------------------------------------------------------- operations

    def _op_decoder_key(self, req: Request) -> dict[str, Any]:
        dk, _, _ = self._derive(_get(req, "key"))
        return {"decoder_key": f"{dk:016X}"}

    def _op_credit(self, req: Request) -> dict[str, Any]:
        dk, base, algorithm = self._key_and_base(req)
        issued_at, tid = self._when(req)
        subclass = _int(req, "subclass")
        if not 0 <= subclass <= 7:
            raise _err("out_of_range", "credit subclass must be 0..7")
        issued = api.credit_token(
            dk,
            subclass,
            _amount(req, "amount"),
            issued_at=issued_at,
            tid=tid,
            base_date=base,
            rnd=_int(req, "rnd", None) if req.get("rnd") is not None else None,
            ken=_int(req, "ken", None) if req.get("ken") is not None else None,
            algorithm=algorithm,
            rounding=_str(req, "rounding", amt.ROUNDING_UP),
        )
        return {"token": issued.token, "tid": issued.tid}

    def _op_management(self, req: Request) -> dict[str, Any]:
        dk, base, algorithm = self._key_and_base(req)
        issued_at, tid = self._when(req)
        issued = api.management_token(
            dk,
            _int(req, "subclass"),
            _int(req, "value"),
            issued_at=issued_at,
            tid=tid,
            base_date=base,
            rnd=_int(req, "rnd", None) if req.get("rnd") is not None else None,
            ken=_int(req, "ken", None) if req.get("ken") is not None else None,
            algorithm=algorithm,
        )
        return {"token": issued.token, "tid": issued.tid}

    def _op_test(self, req: Request) -> dict[str, Any]:
        issued = api.test_token(
            _int(req, "subclass"), _int(req, "control"), _int(req, "manufacturer_code", 0)
        )
        return {"token": issued.token}

    def _op_key_change(self, req: Request) -> dict[str, Any]:
        third = _bool(req, "third_token", False)
        sgc: str | None = None
        if third:
            sgc = _str(req, "supply_group_code")
        tokens = api.key_change_tokens(
            DecoderKey.from_hex(_str(req, "old_decoder_key")),
            DecoderKey.from_hex(_str(req, "new_decoder_key")),
            key_revision=_int(req, "new_key_revision"),
            key_type=_int(req, "new_key_type"),
            tariff_index=_tariff_index(req, "new_tariff_index"),
            ken_high=_int(req, "ken_high", 15),
            ken_low=_int(req, "ken_low", 15),
            rollover=_bool(req, "rollover", False),
            third_token=third,
            supply_group_code=sgc,
            algorithm=_str(req, "encryption_algorithm", "07"),
        )
        return {"tokens": [t.token for t in tokens]}

    def _op_decode(self, req: Request) -> dict[str, Any]:
        token = _str(req, "token")
        base = _int(req, "base_date", 1993)
        if base not in BASE_DATE_YEARS:
            raise _err("out_of_range", "base_date must be 1993, 2014 or 2035")
        key = DecoderKey.from_hex(_str(req, "decoder_key")) if req.get("decoder_key") is not None else None
        fields = api.decode(token, key, algorithm=_str(req, "encryption_algorithm", "07"))
        return describe(fields, base)


def describe(fields: Token, base_date: int = 1993) -> dict[str, Any]:
    """JSON description of a decoded token (the ``decode`` response; see docs/sts-batch.md)."""
    cls = token_class_of(fields)
    out: dict[str, Any] = {
        "class": cls,
        "subclass": fields.subclass,
        "kind": KIND_NAMES.get((cls, fields.subclass), "unsupported"),
        "crc_ok": True,
    }
    if isinstance(fields, MeterTestToken):
        out["control"] = fields.control
        out["manufacturer_code"] = fields.manufacturer_code
    elif isinstance(fields, Set1stSectionDecoderKeyToken):
        out.update(
            ken_high=fields.ken_high,
            key_revision=fields.key_revision,
            rollover=fields.rollover,
            third_token=fields.third_token,
            key_type=fields.key_type,
            new_key_high=f"{fields.key_high:08X}",
        )
    elif isinstance(fields, Set2ndSectionDecoderKeyToken):
        out.update(
            ken_low=fields.ken_low, tariff_index=fields.tariff_index, new_key_low=f"{fields.key_low:08X}"
        )
    elif isinstance(fields, Set3rdSectionDecoderKeyToken):
        out["supply_group_code"] = f"{fields.supply_group_code:06d}"
    elif isinstance(fields, RawToken):
        out["payload"] = f"{fields.raw_payload:011X}"
    else:
        out["tid"] = fields.tid
        out["issued_at"] = format_issued_at(datetime_from_tid(fields.tid, base_date))
        if isinstance(fields, CurrencyCreditToken):
            out["amount"] = amt.format_amount(fields.amount)
        else:
            out["rnd"] = fields.rnd
            if isinstance(fields, StandardCreditToken):
                out["amount"] = amt.format_amount(fields.amount)
            else:
                out["value"] = fields.value
    return out


def run_batch(lines: Iterable[str], out: TextIO, *, line_buffered: bool = False) -> tuple[int, int]:
    """Process JSON lines from ``lines`` into ``out``; returns (ok count, error count)."""
    processor = BatchProcessor()
    ok = failed = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
    write = out.write
    for line in lines:
        response = processor.process_line(line)
        if response is None:
            continue
        if "error" in response:
            failed += 1
        else:
            ok += 1
        write(dumps(response) + "\n")
        if line_buffered:
            out.flush()
    out.flush()
    return ok, failed
