"""Meter protocol codecs (pure Python, no I/O, never Django).

* :mod:`.dlt645` — DL/T 645-2007 / -1997 electricity meters;
* :mod:`.cjt188` — CJ/T 188 water meters (read, valve);
* :mod:`.modbus` — Modbus register maps per meter model (data files in ``maps/``) and scaling;
* :mod:`.mqtt` — topics and JSON payloads of Acrel 4G meters.

Every decoder raises only :class:`ProtocolError` (or a subclass) for bad input.
See docs/protocols.md.
"""

from __future__ import annotations

from .errors import EncodeError, MapError, MeterErrorReply, ProtocolError

__all__ = ["EncodeError", "MapError", "MeterErrorReply", "ProtocolError"]
