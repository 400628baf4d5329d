"""Virtual meters and fleets that speak the same protocols as real meters, over real sockets.

* :mod:`.clock` — simulation clocks (real time × speed, or stepped by hand in tests);
* :mod:`.load` — seeded daily / weekly load profiles per customer type;
* :mod:`.meter` — :class:`VirtualMeter`: registers, relay, local and remote fee control;
* :mod:`.card` — IC-card images (``load_card``);
* :mod:`.servers` — Modbus TCP, DL/T 645 (server and dial-in DTU), CJ/T 188 and MQTT front ends;
* :mod:`.fleet` — many meters per process, built from the database or generated;
* :mod:`.keys` — STS decoder keys from the platform's key store.
"""
