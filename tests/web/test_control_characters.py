"""No NUL byte or other control character reaches a view: 400 with a clear message, nothing changed
(``prepay.common.middleware.RefuseControlCharacters``)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from prepay.customers.models import Customer
from tests.helpers import changes_nothing

BAD = ["nul\x00", "bell\x07", "esc\x1b[31m", "del\x7f", "c1\x85", "surrogate\ud800"]


def signed_in(user, language="en"):
    c = Client(HTTP_ACCEPT_LANGUAGE=language)
    c.force_login(user)
    return c


class ControlCharacterTestCase:
    @pytest.mark.parametrize("text", BAD)
    def test_it_refuses_them_in_a_json_body(self, world, text):
        c = signed_in(world.cashier)
        with changes_nothing():
            r = c.post(
                "/api/vends",
                data=json.dumps({"account_number": text, "amount": "5"}),
                content_type="application/json",
                headers={"Idempotency-Key": "k"},
            )
        assert r.status_code == 400
        assert r.json()["code"] == "control_characters" and "control character" in r.json()["message"]

    @pytest.mark.parametrize("text", BAD[:-1])  # a form body cannot even carry a lone surrogate
    def test_it_refuses_them_in_a_form_field(self, world, text):
        c = signed_in(world.clerk)
        data = {"site": world.a1.site.pk, "number": "C-1", "name": text, "customer_type": world.a1.ctype.pk}
        with changes_nothing():
            r = c.post("/counter/customers/new/", data)
        assert r.status_code == 400 and "control character" in r.content.decode()
        assert not Customer.objects.filter(number="C-1").exists()

    def test_it_refuses_them_in_the_query_path_and_headers(self, world):
        c = signed_in(world.cashier)
        assert c.get("/counter/search/", {"q": "A\x00"}).status_code == 400
        assert c.get("/api/receipts/R%00X").status_code == 400
        assert Client().get("/api/accounts", {"q": "x"}, headers={"X-Api-Key": "pp_\x00"}).status_code == 400

    def test_it_keeps_tabs_and_new_lines_in_fields(self, world):
        c = signed_in(world.cashier)
        assert c.get("/counter/search/", {"q": "A\tB"}).status_code == 200

    def test_it_says_so_in_chinese(self, world):
        r = signed_in(world.cashier, "zh-hans").get("/api/accounts", {"q": "\x00"})
        assert r.status_code == 400 and "控制字符" in r.json()["message"]
