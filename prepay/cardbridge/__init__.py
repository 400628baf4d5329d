"""The card bridge: a small local HTTP service that lets the counter page read and write IC cards.

A browser cannot talk to a PC/SC card reader; the counter page talks to this bridge instead, which
runs on the cashier's PC (``prepay cardbridge``), listens on 127.0.0.1 only and drives the reader:

* :mod:`.container` — how a purchase image sits on the card's memory (magic, length, CRC);
* :mod:`.readers` — the reader interface and a simulated reader (tests, the demo); :mod:`.opening`
  opens the one asked for;
* :mod:`.pcsc` — the PC/SC backend (pyscard, Debian ``pcscd`` + ``libccid``), imported lazily;
* :mod:`.server` — the HTTP service: Origin and Host checks, a per-session pairing code, JSON API.

The bridge never holds a key: the purchase images it writes are sealed by the server (per-meter card
keys) and it only moves bytes between the page and the card. Pure Python: no Django, no database.
"""
