"""The card bridge's HTTP service over a real loopback socket, with the simulated reader."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from prepay.cardbridge.container import wrap
from prepay.cardbridge.server import MAX_FAILURES, new_code, normalise
from tests.cardbridge.conftest import CODE, ORIGIN

IMAGE = bytes.fromhex("5043010b3437303030303030303031000000010000035200134e6d0011223344556677")


class StatusTestCase:
    def test_it_describes_itself_to_the_prepay_page(self, bridge):
        answer = bridge.call("GET", "/v1/status")
        assert answer.status == 200 and answer.body["bridge"] == "prepay-cardbridge"
        assert answer.body["reader"] == {"backend": "sim", "name": "Simulated reader", "card": True}
        assert answer.body["paired"] is True and answer.body["printer"] is True
        assert answer.headers["access-control-allow-origin"] == ORIGIN and answer.headers["vary"] == "Origin"

    def test_it_says_when_the_page_is_not_paired(self, bridge):
        assert bridge.call("GET", "/v1/status", code=None).body["paired"] is False
        assert bridge.call("GET", "/v1/status", code="WRONG-CODE-0000").body["paired"] is False

    @pytest.mark.parametrize("origin", [None, "http://evil.example", "null", "http://prepay.test:8001"])
    def test_it_refuses_other_origins(self, bridge, origin):
        answer = bridge.call("GET", "/v1/status", origin=origin)
        assert answer.status == 403 and answer.body["code"] == "origin_refused"
        assert "access-control-allow-origin" not in answer.headers

    def test_it_refuses_another_host_name(self, bridge):
        answer = bridge.call("GET", "/v1/status", host=f"attacker.example:{bridge.server.port}")
        assert answer.status == 403 and answer.body["code"] == "host_refused"


class PreflightTestCase:
    def test_it_allows_the_prepay_origin_with_json_and_the_code(self, bridge):
        answer = bridge.call(
            "OPTIONS",
            "/v1/card/write",
            code=None,
            headers={
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Private-Network": "true",
            },
        )
        assert answer.status == 204 and answer.headers["access-control-allow-origin"] == ORIGIN
        assert answer.headers["access-control-allow-headers"] == "Authorization, Content-Type"
        assert answer.headers["access-control-allow-private-network"] == "true"

    def test_it_refuses_another_origin(self, bridge):
        answer = bridge.call("OPTIONS", "/v1/card/write", origin="http://evil.example", code=None)
        assert answer.status == 403 and "access-control-allow-origin" not in answer.headers


class CardTestCase:
    def test_it_writes_a_purchase_and_reads_it_back(self, bridge):
        written = bridge.call("POST", "/v1/card/write", {"image": IMAGE.hex()})
        assert written.status == 200 and written.body == {"image": IMAGE.hex()}
        assert bridge.reader.read(0, len(wrap(IMAGE))) == wrap(IMAGE)
        assert bridge.call("POST", "/v1/card/read", {}).body == {"image": IMAGE.hex()}

    def test_a_blank_card_reads_as_no_purchase(self, bridge):
        assert bridge.call("POST", "/v1/card/read", {}).body == {"image": None}

    def test_it_says_when_no_card_is_in_the_reader(self, bridge):
        bridge.reader.remove()
        answer = bridge.call("POST", "/v1/card/read", {})
        assert answer.status == 409 and answer.body["code"] == "no_card"

    def test_it_says_when_the_purchase_on_the_card_is_damaged(self, bridge):
        data = bytearray(wrap(IMAGE))
        data[10] ^= 0xFF  # a torn write
        bridge.reader.insert(bytes(data))
        answer = bridge.call("POST", "/v1/card/read", {})
        assert answer.status == 422 and answer.body["code"] == "unreadable"

    def test_it_refuses_without_the_pairing_code_and_writes_nothing(self, bridge):
        for code in (None, "WRONG-CODE-0000"):
            answer = bridge.call("POST", "/v1/card/write", {"image": IMAGE.hex()}, code=code)
            assert answer.status == 401 and answer.body["code"] == "pairing_required"
        assert bridge.call("POST", "/v1/card/read", {}).body == {"image": None}

    def test_it_takes_the_code_as_typed(self, bridge):
        typed = CODE.lower().replace("-", " ")
        assert bridge.call("POST", "/v1/card/read", {}, code=typed).status == 200

    def test_it_locks_out_after_too_many_wrong_codes(self, bridge):
        for _ in range(MAX_FAILURES):
            bridge.call("POST", "/v1/card/read", {}, code="WRONG-CODE-0000")
        answer = bridge.call("POST", "/v1/card/read", {})
        assert answer.status == 429 and answer.body["code"] == "locked"

    @pytest.mark.parametrize(
        "body,content_type,code",
        [
            ({"image": "zz"}, "application/json", "bad_request"),
            ({}, "application/json", "bad_request"),
            (b"[1]", "application/json", "bad_request"),
            (b"image=00", "application/x-www-form-urlencoded", "json_only"),
            ({"image": "00" * 2000}, "application/json", "too_large"),
        ],
    )
    def test_it_refuses_bad_requests_and_writes_nothing(self, bridge, body, content_type, code):
        answer = bridge.call("POST", "/v1/card/write", body, content_type=content_type)
        assert answer.body["code"] == code and answer.status >= 400
        assert bridge.call("POST", "/v1/card/read", {}).body == {"image": None}

    def test_it_refuses_from_another_origin_and_writes_nothing(self, bridge):
        answer = bridge.call("POST", "/v1/card/write", {"image": IMAGE.hex()}, origin="http://evil.example")
        assert answer.status == 403
        assert bridge.call("POST", "/v1/card/read", {}).body == {"image": None}


class PrintTestCase:
    def test_it_writes_the_bytes_to_the_printer_device(self, bridge):
        data = b"\x1b@hello\x1dVA\x00"
        answer = bridge.call("POST", "/v1/print", {"data": base64.b64encode(data).decode()})
        assert answer.body == {"sent": len(data)}
        assert Path(bridge.server.config.printer).read_bytes() == data

    def test_it_says_when_the_printer_cannot_be_written(self, bridge, tmp_path):
        bridge.server.config.printer = str(tmp_path / "missing" / "lp0")
        answer = bridge.call("POST", "/v1/print", {"data": "AA=="})
        assert answer.status == 502 and answer.body["code"] == "printer_failed"

    def test_it_refuses_without_a_printer_or_with_bad_data(self, bridge):
        assert bridge.call("POST", "/v1/print", {"data": "!!"}).body["code"] == "bad_request"
        bridge.server.config.printer = None
        assert bridge.call("POST", "/v1/print", {"data": "AA=="}).body["code"] == "no_printer"


class PairingCodeTestCase:
    def test_it_makes_a_fresh_code_of_sixty_bits_each_start(self):
        codes = {new_code() for _ in range(50)}
        assert len(codes) == 50 and all(len(normalise(c)) == 12 and c.count("-") == 2 for c in codes)
        assert not any(ch in "01IO" for c in codes for ch in c)
