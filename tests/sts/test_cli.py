"""Human CLI subcommands (called in-process through ``main``)."""

from __future__ import annotations

import pytest

from prepay.domain.tokens.sts.cli import main

from .vectors import dk

KEY02 = ["--dkga", "02", "--sgc", "123456", "--pan", "600727000000000009"]


class CliTestCase:
    def test_it_derives_a_decoder_key_from_an_environment_variable(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TEST_VK", "ABABABABABABABAB")
        assert main(["decoder-key", *KEY02, "--vending-key-env", "TEST_VK"]) == 0
        out = capsys.readouterr().out
        assert "E653341F9D5BF36F" in out
        assert "ABABABABABABABAB" not in out

    def test_it_prints_a_credit_token_in_groups_of_four(self, capsys: pytest.CaptureFixture[str]) -> None:
        argv = [
            "credit",
            "--decoder-key",
            dk("K02A"),
            "--issued-at",
            "2004-04-01T00:30",
            "--rnd",
            "5",
            "25.6",
        ]
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "2645 6622 0121 8585 0752" in out
        assert "5915550" in out

    def test_it_makes_credit_from_key_parameters(self, capsys: pytest.CaptureFixture[str]) -> None:
        argv = ["credit", *KEY02, "--vending-key", "ABABABABABABABAB", "--issued-at", "2004-03-01T13:55",
                "--rnd", "5", "0.1"]  # fmt: skip
        assert main(argv) == 0
        assert "2371 6100 5011 8319 4197" in capsys.readouterr().out

    def test_it_makes_management_tokens(self, capsys: pytest.CaptureFixture[str]) -> None:
        base = ["--decoder-key", dk("K02A"), "--rnd", "5"]
        assert main(["clear-credit", *base, "--issued-at", "2004-04-01T09:10", "--register", "4"]) == 0
        assert "1769 6673 1162 8626 7663" in capsys.readouterr().out
        assert main(["max-power", *base, "--issued-at", "2004-03-28T09:01", "1000"]) == 0
        assert "5090 1894 2098 6026 3092" in capsys.readouterr().out
        assert main(["max-power", *base, "--issued-at", "2004-03-28T10:20", "--phase-unbalance", "10"]) == 0
        assert "3022 0533 1154 3079 8647" in capsys.readouterr().out
        assert main(["clear-tamper", "--decoder-key", dk("KF2"), "--tid", "6680788", "--rnd", "5"]) == 0
        assert "1270 7367 3418 0566 6529" in capsys.readouterr().out

    def test_it_makes_key_change_and_test_tokens(self, capsys: pytest.CaptureFixture[str]) -> None:
        argv = ["key-change", "--old-decoder-key", dk("K02A"), "--new-decoder-key", dk("K02A_TI02"),
                "--new-krn", "1", "--new-ti", "02"]  # fmt: skip
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "5163 8423 0600 4273 4509" in out and "1536 1891 7621 1350 2242" in out
        assert main(["test", "0x8"]) == 0
        assert "1844 6744 0738 4377 2416" in capsys.readouterr().out

    def test_it_decodes_and_reports_errors(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["decode", "--decoder-key", dk("STD"), "2905 4347 1393 0985 1356"]) == 0
        out = capsys.readouterr().out
        assert "1996-03-25T13:55" in out and "25.6" in out
        assert main(["decode", "--decoder-key", dk("STD"), "29054347139309851357"]) == 1
        assert "(crc)" in capsys.readouterr().err
        assert main(["credit", "--decoder-key", dk("K02A"), "--tid", "1", "2000000"]) == 1
        assert "amount_too_large" in capsys.readouterr().err
        assert main(["frobnicate"]) == 2
