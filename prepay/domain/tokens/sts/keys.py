"""Decoder key generation: DKGA02 (DES) and DKGA04 (HMAC-SHA-256).

Decoder keys are handled as 64-bit ints in *natural* (big-endian) order everywhere; that is the
value the STA uses and the value carried in key change tokens (no byte reversal anywhere).

Key material never appears in ``repr()`` or in exception messages: :class:`KeyParameters`
redacts its vending key and :class:`DecoderKey` redacts its value.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from .dea import des_encrypt_block
from .errors import InvalidInputError, OutOfRangeError, UnsupportedAlgorithmError
from .ids import MeterPan, parse_pan

MASK64 = (1 << 64) - 1
BASE_DATE_YEARS = (1993, 2014, 2035)
KEY_TYPE_NAMES = {0: "DITK", 1: "DDTK", 2: "DUTK", 3: "DCTK"}


def parse_hex(value: str, nbytes: int | None, what: str) -> bytes:
    """Parse hex text to bytes without ever echoing the (possibly secret) value in errors."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a hex string")
    text = value.strip().replace(" ", "")
    if text[:2].lower() == "0x":
        text = text[2:]
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise InvalidInputError(f"{what} is not valid hexadecimal") from None
    if nbytes is not None and len(raw) != nbytes:
        raise InvalidInputError(f"{what} must be {nbytes} bytes ({2 * nbytes} hex digits)")
    return raw


@dataclass(frozen=True, slots=True)
class DecoderKey:
    """A 64-bit decoder key in natural order. ``repr()`` is redacted; use :meth:`hex`."""

    value: int = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.value, int) or not 0 <= self.value <= MASK64:
            raise InvalidInputError("decoder key must be a 64-bit value")

    def __repr__(self) -> str:
        return "DecoderKey(<redacted>)"

    def hex(self) -> str:
        """The key as 16 uppercase hex digits."""
        return f"{self.value:016X}"

    @property
    def high(self) -> int:
        """Upper 32 bits (NKHO in a 1st-section key change token)."""
        return self.value >> 32

    @property
    def low(self) -> int:
        """Lower 32 bits (NKLO in a 2nd-section key change token)."""
        return self.value & 0xFFFFFFFF

    @classmethod
    def from_hex(cls, text: str) -> DecoderKey:
        """Parse 16 hex digits (natural order)."""
        return cls(int.from_bytes(parse_hex(text, 8, "decoder key"), "big"))


def check_base_date(year: int) -> int:
    """Validate a TID base date year (1993, 2014 or 2035)."""
    if isinstance(year, bool) or year not in BASE_DATE_YEARS:
        raise OutOfRangeError("base date must be 1993, 2014 or 2035")
    return year


@dataclass(frozen=True, slots=True)
class KeyParameters:
    """Everything needed to derive a decoder key. The vending key is redacted from ``repr()``.

    * ``dkga``: ``"02"`` (8-byte DES vending key) or ``"04"`` (20-byte HMAC vending key).
    * ``supply_group_code``: 6 decimal digits; ``tariff_index``: 0..99; ``key_revision``: 1..9;
      ``key_type``: 0..3; ``base_date``: 1993/2014/2035 (input to DKGA04 only);
      ``encryption_algorithm``: ``"07"`` (STA) or ``"09"`` (DEA, experimental).
    """

    dkga: str
    vending_key: bytes = field(repr=False)
    supply_group_code: str
    tariff_index: int
    key_revision: int
    key_type: int
    pan: MeterPan
    base_date: int = 1993
    encryption_algorithm: str = "07"

    def __post_init__(self) -> None:
        if self.dkga not in ("02", "04"):
            raise UnsupportedAlgorithmError("only DKGA02 and DKGA04 are supported")
        want = 8 if self.dkga == "02" else 20
        if not isinstance(self.vending_key, bytes) or len(self.vending_key) != want:
            raise InvalidInputError(f"DKGA{self.dkga} needs a {want}-byte vending key")
        sgc = self.supply_group_code
        if not isinstance(sgc, str) or len(sgc) != 6 or not sgc.isdigit() or not sgc.isascii():
            raise InvalidInputError("supply group code must be 6 decimal digits")
        _int_range(self.tariff_index, 0, 99, "tariff index")
        _int_range(self.key_revision, 1, 9, "key revision number")
        _int_range(self.key_type, 0, 3, "key type")
        check_base_date(self.base_date)
        if self.encryption_algorithm not in ("07", "09"):
            raise UnsupportedAlgorithmError("encryption algorithm must be 07 (STA) or 09 (DEA)")

    def __repr__(self) -> str:
        return (
            f"KeyParameters(dkga={self.dkga!r}, vending_key=<redacted>, "
            f"supply_group_code={self.supply_group_code!r}, tariff_index={self.tariff_index}, "
            f"key_revision={self.key_revision}, key_type={self.key_type}, pan={self.pan.value!r}, "
            f"base_date={self.base_date}, encryption_algorithm={self.encryption_algorithm!r})"
        )

    @classmethod
    def build(
        cls,
        *,
        dkga: str,
        vending_key: str | bytes,
        supply_group_code: str,
        tariff_index: int | str,
        key_revision: int,
        key_type: int,
        pan: str,
        base_date: int = 1993,
        encryption_algorithm: str = "07",
    ) -> KeyParameters:
        """Build from loosely typed input (hex vending key, ``"01"`` tariff index, PAN or IAIN)."""
        if isinstance(vending_key, str):
            vk = parse_hex(vending_key, None, "vending key")
        else:
            vk = bytes(vending_key)
        if isinstance(tariff_index, str):
            if len(tariff_index) != 2 or not tariff_index.isdigit() or not tariff_index.isascii():
                raise InvalidInputError("tariff index must be 2 decimal digits")
            ti = int(tariff_index)
        else:
            ti = tariff_index
        return cls(
            dkga=str(dkga).zfill(2),
            vending_key=vk,
            supply_group_code=supply_group_code,
            tariff_index=ti,
            key_revision=key_revision,
            key_type=key_type,
            pan=parse_pan(pan),
            base_date=base_date,
            encryption_algorithm=str(encryption_algorithm).zfill(2),
        )


def _int_range(value: object, lo: int, hi: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{what} must be an integer")
    if not lo <= value <= hi:
        raise OutOfRangeError(f"{what} must be between {lo} and {hi}")
    return value


def dkga02(params: KeyParameters) -> DecoderKey:
    """DKGA02: ``DK = DES(VK, X) XOR X XOR VK`` with ``X = PANBlock XOR CONTROLBlock``.

    CONTROLBlock = KT ∥ SGC ∥ TI ∥ KRN ∥ ``FFFFFF`` read as 16 hex nibbles (BCD digits).
    """
    if params.dkga != "02":
        raise UnsupportedAlgorithmError("parameters are not for DKGA02")
    control = int(
        f"{params.key_type}{params.supply_group_code}{params.tariff_index:02d}{params.key_revision}FFFFFF",
        16,
    )
    x = params.pan.pan_block(params.key_type) ^ control
    vk = int.from_bytes(params.vending_key, "big")
    return DecoderKey(des_encrypt_block(params.vending_key, x) ^ x ^ vk)


def dkga04_message(params: KeyParameters) -> bytes:
    """The exact HMAC input of DKGA04 for a 64-bit (EA07/EA09) decoder key."""
    bd = f"{params.base_date % 100:02d}".encode()
    return b"".join(
        (
            b"\x04\x02" + b"04",
            b"\x02" + bd,
            b"\x02" + params.encryption_algorithm.encode(),
            b"\x02" + f"{params.tariff_index:02d}".encode(),
            b"\x00\x04\x06" + params.supply_group_code.encode(),
            b"\x01" + f"{params.key_type:x}".encode(),
            b"\x01" + f"{params.key_revision:x}".encode(),
            b"\x12" + params.pan.value.encode(),
            b"\x00\x00\x00\x40",
        )
    )


def dkga04(params: KeyParameters) -> DecoderKey:
    """DKGA04: first 8 bytes of ``HMAC-SHA-256(VK, M)`` (see :func:`dkga04_message`)."""
    if params.dkga != "04":
        raise UnsupportedAlgorithmError("parameters are not for DKGA04")
    mac = hmac.new(params.vending_key, dkga04_message(params), hashlib.sha256).digest()
    return DecoderKey(int.from_bytes(mac[:8], "big"))


def derive_decoder_key(params: KeyParameters) -> DecoderKey:
    """Derive the decoder key with the algorithm named in ``params.dkga``."""
    return dkga02(params) if params.dkga == "02" else dkga04(params)
