"""``prepay payments``: add providers (secrets from files, never printed), list them, write a simulated
provider's trade bill, import it and reconcile with an Excel report."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from prepay.payments import crypto
from prepay.payments.credentials import unseal
from prepay.payments.models import PaymentProvider, Statement
from tests.payments.conftest import add_online_point


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("payments", *args, stdout=out)
    return out.getvalue()


class PaymentsCommandTestCase:
    def test_it_adds_a_wechat_provider_from_files(self, world, store, tmp_path):
        add_online_point(world.a1.site)
        platform, merchant = crypto.new_rsa_key(), crypto.new_rsa_key()
        (tmp_path / "cert.pem").write_text(crypto.self_signed_certificate(platform, "t"))
        (tmp_path / "apiv3.key").write_text("0123456789abcdefghijklmnopqrstuv\n")
        (tmp_path / "merchant.pem").write_text(crypto.private_pem(merchant))
        out = run(
            "add",
            "wechat",
            "--group",
            "ga",
            "--code",
            "wx",
            "--user",
            world.admin.username,
            "--point",
            "wx",
            "--mchid",
            "1900000109",
            "--appid",
            "wxd678efh567hg6787",
            "--merchant-serial",
            "ABC",
            "--platform-cert",
            str(tmp_path / "cert.pem"),
            "--apiv3-key-file",
            str(tmp_path / "apiv3.key"),
            "--private-key-file",
            str(tmp_path / "merchant.pem"),
        )
        provider = PaymentProvider.objects.get()
        assert f"/payments/notify/{provider.pk}/" in out and "0123456789" not in out
        assert unseal(provider)["apiv3_key"] == "0123456789abcdefghijklmnopqrstuv"
        assert "wx" in run("list", "--group", "ga")
        run("switch", "off", "--group", "ga", "--code", "wx", "--user", world.admin.username)
        provider.refresh_from_db()
        assert not provider.active and "off" in run("list")

    def test_it_refuses_with_a_message(self, world, store):
        add_online_point(world.a1.site)
        with pytest.raises(CommandError):
            run(
                "add",
                "wechat",
                "--group",
                "ga",
                "--code",
                "wx",
                "--user",
                world.admin.username,
                "--point",
                "wx",
            )
        with pytest.raises(CommandError):
            run(
                "add",
                "simulated",
                "--group",
                "nosuch",
                "--code",
                "s",
                "--user",
                world.admin.username,
                "--point",
                "wx",
            )
        with pytest.raises(CommandError):
            run(
                "add",
                "simulated",
                "--group",
                "ga",
                "--code",
                "s",
                "--user",
                world.clerk.username,
                "--point",
                "wx",
            )
        assert PaymentProvider.objects.count() == 0

    def test_a_simulated_days_bill_imports_and_reconciles(self, pay, clock, tmp_path):
        order = pay.order("50.00")
        pay.post(*pay.signed(order))
        bill = tmp_path / "bill.csv"
        common = ["--group", "ga", "--code", "sim", "--user", pay.shop.world.finance.username]
        run("simulate-statement", *common, "--day", "2026-06-12", "-o", str(bill))
        out = run("import-statement", *common, str(bill), "--day", "2026-06-12")
        assert "Imported 1 lines." in out and "0 mismatches." in out
        assert Statement.objects.get().day == date(2026, 6, 12)
        report = tmp_path / "r.xlsx"
        run("reconcile", *common, "--day", "2026-06-12", "-o", str(report))
        assert report.read_bytes()[:2] == b"PK"
