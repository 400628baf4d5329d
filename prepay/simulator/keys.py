"""STS keys for virtual meters: the decoder key comes from the platform's own key store.

A simulated STS meter must hold the decoder key derived from the same vending key the platform
vends with; otherwise "a token vended by the system is accepted" proves nothing. :func:`decoder_for`
asks the key store (which decrypts the group's vending key and derives the meter's decoder key)
for the meter's key reference, exactly as token issuing does.
"""

from __future__ import annotations

from prepay.domain.tokens.sts.meter import MeterDecoder
from prepay.meters.models import Meter
from prepay.tokens.actions import meter_ref
from prepay.tokens.keystore import get_keystore


def decoder_for(meter: Meter) -> MeterDecoder:
    """A fresh meter-side decoder for ``meter`` (its DRN, SGC, TI, KRN, KT, EA and base date).

    Raises the key store's error (an ``ActionError``) when no vending key fits the meter.
    """
    dk = get_keystore().decoder_key(meter_ref(meter))
    return MeterDecoder(
        decoder_key=dk.value,
        base_date=meter.base_date,
        key_revision=meter.key_revision,
        key_type=meter.key_type,
        tariff_index=int(meter.tariff_index or 0),
        supply_group_code=int(meter.supply_group_code) if meter.supply_group_code else None,
        algorithm=meter.encryption_algorithm,
    )
