"""Meter drivers: one interface (:mod:`.base`), a registry keyed by ``Meter.protocol`` (:mod:`.registry`),
and drivers for Modbus TCP, DL/T 645 (TCP client and dial-in DTUs), MQTT and CJ/T 188."""
