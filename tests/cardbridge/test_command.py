"""``prepay cardbridge``: its options and what it says when it cannot start."""

from __future__ import annotations

import importlib.util

import pytest
from django.core.management import CommandError, call_command

from prepay.cardbridge.management.commands.cardbridge import default_origins, origin_of


class CardbridgeCommandTestCase:
    @pytest.mark.skipif(importlib.util.find_spec("smartcard") is not None, reason="pyscard is installed here")
    def test_it_says_how_to_install_pyscard_for_a_real_reader(self):
        with pytest.raises(CommandError) as info:
            call_command("cardbridge", "--reader", "pcsc", "--port", "0")
        assert "pip install pyscard==2.3.1" in str(info.value) and "--reader sim" in str(info.value)

    @pytest.mark.parametrize("args", [["--code", "SHORT"], ["--origin", "ftp://x"], ["--apdu-class", "ZZ"]])
    def test_it_refuses_bad_options(self, args):
        with pytest.raises(CommandError):
            call_command("cardbridge", "--reader", "sim", "--port", "0", *args)

    def test_it_reads_origins_as_browsers_send_them(self, settings):
        assert origin_of("https://pay.example.lan/counter/") == "https://pay.example.lan"
        assert origin_of("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
        settings.PREPAY_PUBLIC_URL = "https://pay.example.lan"
        assert default_origins()[0] == "https://pay.example.lan"
