"""A real card reader through PC/SC (pyscard), for memory cards in a CCID reader.

Set-up on Debian / Ubuntu: ``apt install pcscd libccid`` (the PC/SC daemon and the CCID driver that
most USB readers use), then ``pip install pyscard==2.3.1`` in Prepay's environment. pyscard is
imported only when this backend is used, so Prepay runs without it.

The purchase (in its container, :mod:`.container`) is read and written with the storage-card
commands of PC/SC part 3 that CCID readers offer for memory cards: READ BINARY ``CLA B0 P1 P2 Le``
and UPDATE BINARY ``CLA D6 P1 P2 Lc data`` with the offset in P1-P2, CLA ``FF`` by default (``00``
for readers that take ISO 7816-4 commands on such cards). ``verify`` is an APDU sent before each
write when the card wants one (e.g. an SLE4442's programmable security code, ``FF20000003…``); it
unlocks the card's memory, it is not a key of Prepay's: the purchase is sealed by the server.

Not tried on hardware in Prepay's own tests (the simulated reader stands in); see docs/vending.md.
"""

from __future__ import annotations

from typing import Any

from prepay.cardbridge.readers import ReaderError

INSTALL_HINT = (
    "The PC/SC card reader backend needs pyscard, which is not installed. Install the PC/SC daemon "
    "and CCID driver (Debian: sudo apt install pcscd libccid; to build pyscard also swig and "
    "libpcsclite-dev), then pyscard in Prepay's environment: .venv/bin/pip install pyscard==2.3.1. "
    "Without a reader, run the bridge with --reader sim (a simulated card)."
)


class PyscardMissing(ImportError):
    """pyscard is not installed; the message says how to install it."""


def _pyscard() -> Any:
    try:
        import smartcard.Exceptions
        import smartcard.System
    except ImportError as exc:
        raise PyscardMissing(INSTALL_HINT) from exc
    return smartcard


class PcscReader:
    """The first PC/SC reader (or the first whose name contains ``name``) and the card in it."""

    backend = "pcsc"
    capacity = 256

    def __init__(
        self, *, name: str | None = None, cla: int = 0xFF, chunk: int = 32, verify: bytes | None = None
    ) -> None:
        self._smartcard = _pyscard()
        self.name = name
        self.cla = cla
        self.chunk = max(1, min(chunk, 0xF0))
        self.verify = verify

    def _reader(self) -> Any:
        try:
            found = self._smartcard.System.readers()
        except Exception as exc:  # noqa: BLE001 — pcscd not running raises its own types
            raise ReaderError("no_reader", f"PC/SC is not available (is pcscd running?): {exc}") from None
        for reader in found:
            if not self.name or self.name.lower() in str(reader).lower():
                return reader
        raise ReaderError(
            "no_reader", "no PC/SC card reader found" + (f" named {self.name!r}" if self.name else "")
        )

    def _connect(self) -> Any:
        connection = self._reader().createConnection()
        try:
            connection.connect()
        except self._smartcard.Exceptions.NoCardException:
            raise ReaderError("no_card", "no card in the reader") from None
        except self._smartcard.Exceptions.CardConnectionException as exc:
            raise ReaderError("no_card", f"the card does not answer: {exc}") from None
        return connection

    def describe(self) -> dict[str, Any]:
        try:
            reader = self._reader()
        except ReaderError:
            return {"backend": self.backend, "name": "", "card": False}
        try:
            self._connect().disconnect()
            card = True
        except ReaderError:
            card = False
        return {"backend": self.backend, "name": str(reader), "card": card}

    def _transmit(self, connection: Any, apdu: list[int], code: str) -> list[int]:
        data, sw1, sw2 = connection.transmit(apdu)
        if (sw1, sw2) != (0x90, 0x00):
            raise ReaderError(code, f"the card answered {sw1:02X}{sw2:02X}")
        return list(data)

    def read(self, offset: int, length: int) -> bytes:
        connection = self._connect()
        try:
            out = bytearray()
            while len(out) < length:
                at, n = offset + len(out), min(self.chunk, length - len(out))
                out += bytes(
                    self._transmit(connection, [self.cla, 0xB0, at >> 8, at & 0xFF, n], "read_failed")
                )
            return bytes(out[:length])
        finally:
            connection.disconnect()

    def write(self, offset: int, data: bytes) -> None:
        connection = self._connect()
        try:
            if self.verify:
                self._transmit(connection, list(self.verify), "write_failed")
            for start in range(0, len(data), self.chunk):
                part = data[start : start + self.chunk]
                at = offset + start
                self._transmit(
                    connection, [self.cla, 0xD6, at >> 8, at & 0xFF, len(part), *part], "write_failed"
                )
        finally:
            connection.disconnect()
