"""Which reader to open: the simulated one or a PC/SC reader (the bridge command's ``--reader``)."""

from __future__ import annotations

from typing import Any

from prepay.cardbridge.readers import Reader, SimulatedReader


def open_reader(kind: str, **options: Any) -> Reader:
    """``sim`` (options: ``path``) or ``pcsc`` (options: ``name``, ``cla``, ``chunk``, ``verify``).

    ``pcsc`` raises ``prepay.cardbridge.pcsc.PyscardMissing`` (with how to install it) when pyscard
    is not installed.
    """
    if kind == "sim":
        return SimulatedReader(path=options.get("path"))
    if kind == "pcsc":
        from prepay.cardbridge.pcsc import PcscReader

        return PcscReader(
            name=options.get("name"),
            cla=options.get("cla", 0xFF),
            chunk=options.get("chunk", 32),
            verify=options.get("verify"),
        )
    raise ValueError(f"unknown reader {kind!r}: use sim or pcsc")
