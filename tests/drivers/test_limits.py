"""Wire limits: defaults, environment variables, refusals of nonsense values, frame arithmetic."""

from __future__ import annotations

import pytest

from prepay.domain.protocols import cjt188, dlt645
from prepay.meters.drivers.limits import ENVIRONMENT, Limits, Throttle


class LimitsTestCase:
    def test_it_has_sensible_defaults(self) -> None:
        lim = Limits.from_env({})
        assert lim == Limits()
        assert lim.dlt645_max_frame == 212 and lim.max_buffer >= lim.dlt645_max_frame
        assert lim.heartbeat_timeout < lim.idle_timeout

    def test_it_reads_every_variable_from_the_environment(self) -> None:
        env = {var: "7" for var in ENVIRONMENT}
        env["PREPAY_DLT645_MAX_FRAME"] = "100"
        env["PREPAY_CJT188_MAX_FRAME"] = "100"
        env["PREPAY_DTU_HEARTBEAT_TIMEOUT"] = "2.5"
        lim = Limits.from_env(env)
        assert lim.max_connections == 7 and lim.mqtt_max_payload == 7 and lim.dispute_hold == 7
        assert lim.heartbeat_timeout == 2.5 and lim.dlt645_max_frame == 100

    def test_it_allows_no_dispute_hold(self) -> None:
        assert Limits.from_env({"PREPAY_DTU_DISPUTE_HOLD": "0"}).dispute_hold == 0

    @pytest.mark.parametrize(
        "var,value,says",
        [
            ("PREPAY_DTU_MAX_CONNECTIONS", "many", "PREPAY_DTU_MAX_CONNECTIONS='many' is not a number"),
            ("PREPAY_DTU_MAX_CONNECTIONS", "2.5", "is not a number"),
            ("PREPAY_WIRE_MAX_BUFFER", "0", "PREPAY_WIRE_MAX_BUFFER: max_buffer must be positive"),
            ("PREPAY_DTU_IDLE_TIMEOUT", "-1", "PREPAY_DTU_IDLE_TIMEOUT: idle_timeout must be positive"),
            ("PREPAY_DTU_DISPUTE_HOLD", "-1", "dispute_hold must not be negative"),
            ("PREPAY_DLT645_MAX_FRAME", "5", "leave room for the frame's header"),
        ],
    )
    def test_it_refuses_a_bad_value_naming_the_variable(self, var: str, value: str, says: str) -> None:
        with pytest.raises(ValueError) as err:
            Limits.from_env({var: value})
        assert says in str(err.value)

    def test_it_knows_the_size_a_frame_announces(self) -> None:
        lim = Limits()
        raw = dlt645.encode_frame(dlt645.Frame("000000000001", 0x91, b"\x00" * 30), preamble=False)
        spec = lim.frame_spec("dlt645")
        assert spec.declared(raw[:9]) is None and spec.declared(raw[:10]) == len(raw)
        water = cjt188.encode_frame(cjt188.Frame(0x10, "00000000000001", 0x81, b"\x00" * 30))
        water = water[water.index(0x68) :]
        assert lim.frame_spec("cjt188").declared(water[:11]) == len(water)
        with pytest.raises(ValueError):
            lim.frame_spec("modbus_tcp")


class ThrottleTestCase:
    def test_it_lets_one_through_per_interval_and_counts_the_rest(self) -> None:
        now = [0.0]
        t = Throttle(10, keys=2, clock=lambda: now[0])
        assert t.allow("a") == 0
        assert t.allow("a") is None and t.allow("a") is None
        now[0] = 10
        assert t.allow("a") == 2

    def test_it_forgets_the_oldest_key_when_full(self) -> None:
        t = Throttle(10, keys=2, clock=lambda: 0.0)
        t.allow("a")
        t.allow("b")
        t.allow("c")
        assert t.allow("a") == 0  # forgotten, so allowed again
