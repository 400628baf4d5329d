"""Modbus register maps for drivers: the codec's bundled vendor maps plus the simulator's own map."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from importlib import resources

from prepay.domain.protocols.modbus import RegisterMap, load_map, map_from_dict

#: the map the simulator serves and the default for meters whose comm_params name none
SIM_MAP = "prepay_sim"

#: status register bits of the simulator map
STATUS_BITS = {
    "alarm": 0,
    "keep_power": 1,
    "tamper": 2,
    "low_credit": 3,
    "credit_exhausted": 4,
    "local_control": 5,
}


@cache
def register_map(model: str) -> RegisterMap:
    """The map named ``model``: ours (``prepay/meters/drivers/maps``) first, then the codec's."""
    path = resources.files("prepay.meters.drivers") / "maps" / f"{model}.json"
    if path.is_file():
        return map_from_dict(json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal))
    return load_map(model)
