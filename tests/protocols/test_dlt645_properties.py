"""Property tests: every DL/T 645 builder round-trips through bytes and its parser."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from prepay.domain.protocols import dlt645 as d
from prepay.domain.protocols.dlt645 import Auth, RelayAction, Version

from .strategies import addresses, addresses_with_wildcards, hexes, item_and_value, meter_datetimes

ITEMS_2007 = list(d.REGISTRY[Version.V2007].values())
ITEMS_1997 = list(d.REGISTRY[Version.V1997].values())
versions = st.sampled_from([Version.V2007, Version.V1997])
auths = st.builds(Auth, st.integers(0, 255), hexes(6), hexes(8))


def through_wire(frame: d.Frame, preamble: bool = True) -> d.Frame:
    return d.decode_frame(d.encode_frame(frame, preamble=preamble))


class Dlt645RoundTripTestCase:
    @given(addresses_with_wildcards, st.integers(0, 255), st.binary(max_size=255), st.booleans())
    def test_it_round_trips_any_frame(self, address, control, data, preamble):
        frame = d.Frame(address, control, data)
        assert through_wire(frame, preamble) == frame

    @given(item_and_value(ITEMS_2007))
    def test_it_round_trips_every_2007_registry_value(self, pair):
        item, value = pair
        raw = d.encode_value(item.di, value)
        assert len(raw) == item.length
        assert d.decode_value(item.di, raw) == value

    @given(item_and_value(ITEMS_1997))
    def test_it_round_trips_every_1997_registry_value(self, pair):
        item, value = pair
        assert d.decode_value(item.di, d.encode_value(item.di, value, Version.V1997), Version.V1997) == value

    @given(addresses, st.data())
    def test_it_round_trips_read_requests(self, address, data):
        version = data.draw(versions)
        di = data.draw(st.integers(0, (1 << (8 * (4 if version == Version.V2007 else 2))) - 1))
        req = d.parse_read_request(through_wire(d.build_read(address, di, version=version)), version=version)
        assert (req.address, req.di) == (address, di)

    @given(addresses, item_and_value(ITEMS_2007), st.booleans())
    def test_it_round_trips_read_replies(self, address, pair, follow_up):
        item, value = pair
        frame = through_wire(d.build_read_reply(address, item.di, value, follow_up=follow_up))
        reply = d.parse_read_reply(frame, expected_address=address, expected_di=item.di)
        assert (reply.value, reply.follow_up, reply.known) == (value, follow_up, True)

    @given(addresses, item_and_value(ITEMS_1997))
    def test_it_round_trips_1997_read_replies(self, address, pair):
        item, value = pair
        frame = through_wire(d.build_read_reply(address, item.di, value, version=Version.V1997))
        assert d.parse_read_reply(frame, version=Version.V1997).value == value

    @given(addresses, item_and_value(ITEMS_2007), auths)
    def test_it_round_trips_writes(self, address, pair, auth):
        item, value = pair
        req = d.parse_write_request(through_wire(d.build_write(address, item.di, value, auth)))
        assert (req.address, req.di, req.auth) == (address, item.di, auth)
        assert d.decode_value(item.di, req.payload) == value

    @given(addresses, item_and_value(ITEMS_1997), auths)
    def test_it_round_trips_1997_writes_without_operator_code(self, address, pair, auth):
        item, value = pair
        frame = through_wire(d.build_write(address, item.di, value, auth, version=Version.V1997))
        req = d.parse_write_request(frame, version=Version.V1997)
        assert (req.di, req.auth.level, req.auth.password, req.auth.operator) == (
            item.di,
            auth.level,
            auth.password,
            "00000000",
        )
        assert d.decode_value(item.di, req.payload, Version.V1997) == value

    @given(meter_datetimes)
    def test_it_round_trips_broadcast_time(self, when):
        frame = through_wire(d.build_broadcast_time(when))
        assert frame.address == d.BROADCAST_ADDRESS and d.parse_broadcast_time(frame) == when

    @given(
        addresses, st.sampled_from(list(RelayAction)), auths, meter_datetimes | st.none(), st.integers(0, 255)
    )
    def test_it_round_trips_relay_control(self, address, action, auth, deadline, n2):
        frame = d.build_relay_control(address, action, auth=auth, deadline=deadline, n2=n2)
        assert len(frame.data) == 16
        cmd = d.parse_relay_control(through_wire(frame))
        assert cmd == d.RelayCommand(address, action, auth, deadline, n2)

    @given(addresses)
    def test_it_round_trips_read_address(self, address):
        assert d.parse_read_address_reply(through_wire(d.build_read_address_reply(address))) == address

    @given(addresses, st.sampled_from(list(d.Function2007)), st.integers(0, 0xFFFF))
    def test_it_round_trips_error_replies(self, address, func, err):
        e = d.error_reply(through_wire(d.build_error_reply(address, func, err)))
        assert (e.function, e.err) == (func, err)
        assert len(e.flags) == bin(err).count("1")

    @given(addresses, st.sampled_from(list(d.Function2007)))
    def test_it_round_trips_acks(self, address, func):
        d.parse_ack(through_wire(d.build_ack(address, func)), func, expected_address=address)
