"""Receipts: the context, the signature and verification page, the print view, PDF and ESC/POS."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from prepay.customers.choices import AccountMode
from prepay.tokens.models import IssuedToken
from prepay.vending import escpos, receipts
from prepay.vending.models import Delivery, Receipt, ReversalKind, Vend, VendStatus
from tests import factories as f
from tests.vending import factories as vf

GROUPED = "1234 5678 9012 3456 7890"


def _sig(receipt: Receipt) -> str:
    return receipts.receipt_signature(receipt)


class ReceiptContextTestCase:
    def test_it_shows_the_sale_with_the_token_in_groups_of_four(self, world):
        r = vf.vend(world.a1, actor=world.cashier, reference="POS-88")
        ctx = receipts.receipt_context(r)
        rows = dict(ctx["rows"])
        assert ctx["tokens"] == [GROUPED]
        assert ctx["code"] == r.code and rows["Receipt no."] == r.code
        assert rows["Amount paid"] == "¥70.00" and rows["Arrears recovered"] == "¥7.20"
        assert rows["Credit amount"] == "¥62.80" and rows["Energy purchased"] == "100.000 kWh"
        assert rows["VAT"] == "¥7.22" and rows["Payment reference"] == "POS-88"
        assert rows["Operator"] == "cashier_a1" and rows["Payment method"] == "Cash"
        assert rows["Account number"] == r.vend.account.number
        assert rows["Meter no."] == r.vend.meter.serial
        assert rows["Vending point"] == r.point.name
        assert "Multiplier (CT × PT)" not in rows and ctx["reprint_label"] == ""

    def test_it_translates_default_tier_labels_and_keeps_custom_ones(self, world):
        data = vf.breakdown()
        data["lines"][1]["label"] = "Summer block"
        r = vf.vend(world.a1, actor=world.cashier, breakdown=data)
        lines = receipts.receipt_context(r)["breakdown"]["lines"]
        assert [(x["label"], x["energy"], x["amount"]) for x in lines] == [
            ("Tier 1", "60.000 kWh", "¥35.28"),
            ("Summer block", "40.000 kWh", "¥25.52"),
        ]
        assert lines[0]["price"] == "¥0.588/kWh"

    def test_it_shows_both_energy_and_register_units_behind_a_multiplier(self, world):
        r = vf.vend(world.a1, actor=world.cashier, multiplier=30)
        rows = dict(receipts.receipt_context(r)["rows"])
        assert rows["Energy purchased"] == "100.000 kWh"
        assert rows["Multiplier (CT × PT)"] == "30"
        assert rows["Register units loaded"] == "3.400 kWh"

    def test_it_keeps_several_tokens_in_order(self, world):
        r = vf.vend(world.a1, actor=world.cashier, tokens=["11112222333344445555", "66667777888899990000"])
        assert receipts.receipt_context(r)["tokens"] == [
            "1111 2222 3333 4444 5555",
            "6666 7777 8888 9999 0000",
        ]

    def test_it_marks_a_reprint(self, world):
        assert receipts.receipt_context(vf.vend(world.a1, actor=world.cashier))["reprint_label"] == ""
        r = vf.vend(world.a1, actor=world.cashier, prints=2)
        assert receipts.receipt_context(r)["reprint_label"] == "REPRINT 2"

    def test_it_explains_card_remote_and_balance_delivery(self, world):
        card = receipts.receipt_context(vf.vend(world.a1, actor=world.cashier, delivery=Delivery.CARD))
        assert "IC card" in card["delivery_note"] and dict(card["rows"])["Card purchase no."] == "7"
        assert card["tokens"] == []
        remote = receipts.receipt_context(vf.vend(world.a1, actor=world.cashier, delivery=Delivery.REMOTE))
        assert remote["delivery_note"] == "Credit sent to the meter remotely." and remote["tokens"] == []
        acc = f.account(world.a1, mode=AccountMode.REMOTE)
        vf.balance_entry(acc, "62.80", "80.30", world.cashier)
        r = vf.vend(
            world.a1, actor=world.cashier, account=acc, meter=f.meter(world.a1), delivery=Delivery.BALANCE
        )
        vf.balance_entry(acc, "-10.00", "70.30", world.cashier)  # later consumption: not on this receipt
        assert dict(receipts.receipt_context(r)["rows"])["New balance"] == "¥80.30"

    def test_it_shows_water_in_cubic_metres(self, world):
        data = vf.breakdown()
        data["unit"] = "m3"
        r = vf.vend(world.a1, actor=world.cashier, breakdown=data)
        ctx = receipts.receipt_context(r)
        assert ctx["energy"] == "100.000 m³" and ctx["breakdown"]["lines"][0]["energy"] == "60.000 m³"

    def test_it_shows_what_a_reversal_reversed(self, world):
        sale = vf.vend(world.a1, actor=world.cashier)
        Vend.objects.filter(pk=sale.vend.pk).update(status=VendStatus.REVERSED)
        rev = vf.reversal(sale, actor=world.clerk, decided_by=world.finance)
        ctx = receipts.receipt_context(rev)
        rows = dict(ctx["rows"])
        assert ctx["kind"] == "reversal" and ctx["title"] == "Reversal receipt"
        assert rows["Reverses receipt"] == sale.code and rows["Original amount"] == "¥70.00"
        assert rows["Amount reversed"] == "¥70.00" and rows["Token entered on the meter"] == "no"
        assert rows["Reason"] == "Wrong meter" and rows["Operator"] == "clerk_a1"
        assert ctx["tokens"] == []  # the credit token of the reversed vend is not re-printed
        assert receipts.receipt_context(sale)["status_display"] == "Reversed"

    def test_it_shows_a_refund(self, world):
        sale = vf.vend(world.a1, actor=world.cashier)
        ctx = receipts.receipt_context(
            vf.reversal(sale, actor=world.clerk, decided_by=world.finance, kind=ReversalKind.REFUND)
        )
        rows = dict(ctx["rows"])
        assert ctx["title"] == "Refund receipt" and rows["Amount returned"] == "¥12.50"
        assert "Reverses receipt" not in rows

    def test_it_speaks_chinese(self, world):
        r = vf.vend(world.a1, actor=world.cashier)
        with translation.override("zh-hans"):
            rows = dict(receipts.receipt_context(r)["rows"])
        assert "账户编号" in rows and "用户" in rows


class SignatureTestCase:
    def test_it_puts_a_signed_verification_url_in_the_qr_code(self, world, settings):
        settings.PREPAY_PUBLIC_URL = "https://pay.example.cn/"
        r = vf.vend(world.a1, actor=world.cashier)
        url = receipts.verify_url(r)
        assert url == f"https://pay.example.cn/r/{r.code}/?s={_sig(r)}"
        assert "<svg" in receipts.receipt_context(r)["qr_svg"]

    def test_it_changes_with_the_code_amount_tokens_and_secret(self, settings):
        base = receipts.signature("A-1", Decimal("70.00"), ["1"])
        assert len(base) == 20 and base == receipts.signature("A-1", Decimal("70"), ["1"])
        assert receipts.signature("A-2", Decimal("70.00"), ["1"]) != base
        assert receipts.signature("A-1", Decimal("70.01"), ["1"]) != base
        assert receipts.signature("A-1", Decimal("70.00"), ["2"]) != base
        settings.SECRET_KEY = "another-secret-key-" + "x" * 40
        assert receipts.signature("A-1", Decimal("70.00"), ["1"]) != base


class VerifyPageTestCase:
    def _get(self, client, code, sig):
        return client.get(reverse("receipts:verify", args=[code]), {"s": sig})

    def test_it_confirms_a_genuine_receipt_without_login(self, client, world):
        r = vf.vend(world.a1, actor=world.cashier)
        page = self._get(client, r.code, _sig(r))
        body = page.content.decode()
        assert page.status_code == 200 and "Genuine receipt" in body and "Not genuine" not in body
        assert "¥70.00" in body and receipts.mask_name(r.vend.account.customer.name) in body
        # no personal data beyond the masked name, and no token digits
        assert r.vend.account.customer.name not in body and r.vend.account.number not in body
        assert "1234" not in body.replace(r.code, "")

    def test_it_refuses_a_tampered_signature(self, client, world):
        r = vf.vend(world.a1, actor=world.cashier)
        sig = _sig(r)
        forged = ("B" if sig[0] != "B" else "C") + sig[1:]
        for bad in (forged, "", sig[:-1]):
            body = self._get(client, r.code, bad).content.decode()
            assert "Not genuine" in body and "¥70.00" not in body

    def test_it_refuses_a_receipt_whose_amount_was_changed(self, client, world):
        r = vf.vend(world.a1, actor=world.cashier)
        sig = _sig(r)
        Vend.objects.filter(pk=r.vend.pk).update(amount=Decimal("700.00"))
        assert "Not genuine" in self._get(client, r.code, sig).content.decode()

    def test_it_refuses_a_receipt_whose_token_was_changed(self, client, world):
        r = vf.vend(world.a1, actor=world.cashier)
        sig = _sig(r)
        IssuedToken.objects.filter(vend=r.vend).update(token="99999999999999999999")
        assert "Not genuine" in self._get(client, r.code, sig).content.decode()

    def test_it_refuses_an_unknown_code_and_a_signature_of_another_receipt(self, client, world):
        r = vf.vend(world.a1, actor=world.cashier)
        other = vf.vend(world.a1, actor=world.cashier)
        assert "Not genuine" in self._get(client, "NOPE-1", _sig(r)).content.decode()
        assert "Not genuine" in self._get(client, other.code, _sig(r)).content.decode()

    def test_it_answers_in_chinese(self, client, world):
        r = vf.vend(world.a1, actor=world.cashier)
        page = client.get(
            reverse("receipts:verify", args=[r.code]), {"s": _sig(r)}, HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
        assert page.headers["Content-Language"] == "zh-hans"


class PrintViewTestCase:
    def test_it_needs_a_login(self, client, world):
        r = vf.vend(world.a1, actor=world.cashier)
        page = client.get(reverse("receipts:print", args=[r.code]))
        assert page.status_code == 302 and "/login/" in page["Location"]

    @pytest.mark.parametrize("who", ["cashier", "clerk", "finance", "admin", "auditor"])
    def test_it_shows_the_receipt_to_staff_of_the_site(self, client, world, who):
        r = vf.vend(world.a1, actor=world.cashier)
        client.force_login(getattr(world, who))
        page = client.get(reverse("receipts:print", args=[r.code]))
        body = page.content.decode()
        assert page.status_code == 200 and GROUPED in body and r.code in body
        assert "paper-a5" in body and "js/receipt.js" not in body and "<svg" in body
        assert f"/r/{r.code}/?s={_sig(r)}" in body or _sig(r) in body

    @pytest.mark.parametrize("who", ["clerk_a2", "clerk_b"])
    def test_it_hides_the_receipt_from_other_sites(self, client, world, who):
        r = vf.vend(world.a1, actor=world.cashier)
        client.force_login(getattr(world, who))
        for name in ("print", "pdf", "escpos"):
            assert client.get(reverse(f"receipts:{name}", args=[r.code])).status_code == 404

    def test_it_answers_404_for_an_unknown_code(self, client, world):
        client.force_login(world.cashier)
        assert client.get(reverse("receipts:print", args=["NOPE-1"])).status_code == 404

    @pytest.mark.parametrize(
        ("paper", "size"), [("58", "58mm"), ("80mm", "80mm"), ("a4", "A4"), ("bogus", "A5")]
    )
    def test_it_lays_out_for_the_paper_and_prints_on_request(self, client, world, paper, size):
        r = vf.vend(world.a1, actor=world.cashier)
        client.force_login(world.cashier)
        body = client.get(
            reverse("receipts:print", args=[r.code]), {"paper": paper, "print": "1"}
        ).content.decode()
        assert f"size: {size}" in body and "js/receipt.js" in body

    def test_it_prints_in_chinese(self, client, world):
        r = vf.vend(world.a1, actor=world.cashier)
        client.force_login(world.cashier)
        body = client.get(
            reverse("receipts:print", args=[r.code]), HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()
        assert "账户编号" in body and 'lang="zh-hans"' in body


needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)"
)


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "receipt.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


@needs_pdftotext
class PdfTestCase:
    def test_it_renders_code_tokens_and_chinese(self, world, tmp_path):
        acc = f.account(world.a1, customer=f.customer(world.a1, name="张三丰"), meter_=world.a1.meters[0])
        r = vf.vend(world.a1, actor=world.cashier, account=acc, meter=world.a1.meters[0])
        with translation.override("zh-hans"):
            data = receipts.render_receipt_pdf(r)
        assert data.startswith(b"%PDF")
        text = _pdf_text(data, tmp_path)
        assert r.code in text and GROUPED in text
        assert "张三丰" in text and "账户编号" in text and "电量" in text

    def test_it_downloads_for_staff(self, client, world, tmp_path):
        r = vf.vend(world.a1, actor=world.cashier)
        client.force_login(world.clerk)
        page = client.get(reverse("receipts:pdf", args=[r.code]), {"paper": "80"})
        assert page.status_code == 200 and page["Content-Type"] == "application/pdf"
        assert f"receipt-{r.code}.pdf" in page["Content-Disposition"]
        assert GROUPED in _pdf_text(page.content, tmp_path)


# ESC/POS commands this module emits, removed before reading the text back
_COMMANDS = re.compile(
    rb"\x1b@|\x1c&|\x1b[aE!d].|\x1d!.|\x1dV.|\x1d\(k(..)(?s:.)*?(?=\x1d\(k|\x1b|\n|$)", re.S
)


def _text_lines(data: bytes) -> list[str]:
    qr = data.find(b"\x1d(k")
    end = data.rfind(b"\x1d(k")
    end = data.find(b"1Q0", end) + 3  # the QR print command closes the QR block
    data = data[:qr] + data[end:]
    return _COMMANDS.sub(b"", data).decode("gb18030").split("\n")


class EscposTestCase:
    @pytest.mark.parametrize(("mm", "cols"), [(58, 32), (80, 48)])
    def test_it_respects_the_line_width(self, world, mm, cols):
        r = vf.vend(
            world.a1, actor=world.cashier, multiplier=50, reference="银联 POS-88 very long reference text"
        )
        data = receipts.render_receipt_escpos(r, width_mm=mm)
        lines = _text_lines(data)
        assert max(escpos.display_width(line) for line in lines) <= cols
        assert any(escpos.display_width(line) == cols for line in lines)  # the rules fill the line
        assert GROUPED in "\n".join(lines) and r.code in "\n".join(lines)

    def test_it_initialises_encodes_chinese_and_cuts(self, world):
        acc = f.account(world.a1, customer=f.customer(world.a1, name="张三丰"), meter_=world.a1.meters[0])
        r = vf.vend(world.a1, actor=world.cashier, account=acc, meter=world.a1.meters[0])
        with translation.override("zh-hans"):
            data = receipts.render_receipt_escpos(r, width_mm=58)
        assert data.startswith(b"\x1b@") and b"\x1c&" in data[:8]
        assert "张三丰".encode("gb18030") in data and "账户编号".encode("gb18030") in data
        assert "￥70.00".encode("gbk") in data and "¥".encode("gb18030") not in data  # GBK printers
        assert data.endswith(b"\x1dV\x00")  # full cut at the end
        assert receipts.verify_path(r).encode() in data  # native QR payload
        assert max(escpos.display_width(line) for line in _text_lines(data)) <= 32

    def test_it_sends_a_raster_qr_code_to_printers_without_the_qr_command(self, client, world):
        r = vf.vend(world.a1, actor=world.cashier)
        client.force_login(world.cashier)
        raster = client.get(reverse("receipts:escpos", args=[r.code]), {"qr": "raster"}).content
        native = client.get(reverse("receipts:escpos", args=[r.code])).content
        assert b"\x1dv0" in raster and b"\x1d(k" not in raster
        assert b"\x1d(k" in native and b"\x1dv0" not in native
        assert raster.endswith(b"\x1dV\x00") and GROUPED.encode() in raster

    def test_it_refuses_an_unknown_width(self, world):
        r = vf.vend(world.a1, actor=world.cashier)
        with pytest.raises(ValueError):
            receipts.render_receipt_escpos(r, width_mm=76)

    def test_it_downloads_for_staff(self, client, world):
        r = vf.vend(world.a1, actor=world.cashier)
        client.force_login(world.cashier)
        page = client.get(reverse("receipts:escpos", args=[r.code]), {"width": "80"})
        assert page.status_code == 200 and page["Content-Type"] == "application/octet-stream"
        assert "80mm" in page["Content-Disposition"] and page.content.startswith(b"\x1b@")


class TextLayoutTestCase:
    def test_it_counts_chinese_characters_as_two_columns(self):
        assert escpos.display_width("电量 kWh") == 8
        assert escpos.wrap("一二三四五六", 5) == ["一二", "三四", "五六"]
        assert escpos.display_width("×") == 2  # every double-byte character is full width in Chinese mode
        assert escpos.pair("金额", "¥1.00", 12) == ["金额  ￥1.00"]  # GBK has only the full-width yen
        assert escpos.pair("A long label", "a long value", 12) == ["A long label", "a long value"]

    def test_it_masks_names(self):
        assert receipts.mask_name("张三丰") == "张**"
        assert receipts.mask_name("Li Wei") == "L* W**"


class RealVendReceiptTestCase:
    """Receipts of vends, re-prints and reversals made by the real actions."""

    def _sell(self, shop, **kw):
        from prepay.vending.actions import do_vend

        return do_vend(
            account=shop.account, actor=shop.world.cashier, point=shop.point, idempotency_key="rcpt-1", **kw
        )

    def test_it_renders_the_receipt_of_a_real_vend(self, shop, client, tmp_path):
        vend = self._sell(shop, amount="50.00", method="card", reference="POS-7781")
        ctx = receipts.receipt_context(vend.receipt)
        rows = dict(ctx["rows"])
        tokens = [receipts.token_groups(t.token) for t in vend.tokens.order_by("tid")]
        assert len(tokens) == 1 and ctx["tokens"] == tokens and len(tokens[0]) == 24
        assert rows["Receipt no."] == vend.receipt_no == vend.receipt.code
        assert rows["Amount paid"] == "¥50.00" and rows["Energy purchased"] == "85.042 kWh"
        assert rows["Payment method"] == "Bank card" and rows["Payment reference"] == "POS-7781"
        assert rows["Meter no."] == shop.meter.serial and rows["Account number"] == shop.account.number
        assert ctx["breakdown"]["lines"] and ctx["breakdown"]["total"] == "¥50.00"
        if shutil.which("pdftotext"):
            text = _pdf_text(receipts.render_receipt_pdf(vend.receipt), tmp_path)
            assert vend.receipt_no in text and tokens[0] in text
        page = client.get(receipts.verify_path(vend.receipt))
        assert "Genuine receipt" in page.content.decode()

    def test_it_marks_the_copies_counted_by_do_reprint_receipt(self, shop):
        from prepay.vending.actions import do_reprint_receipt

        vend = self._sell(shop, amount="20.00")
        assert receipts.receipt_context(vend.receipt)["reprint_label"] == ""
        receipt = do_reprint_receipt(receipt=vend.receipt, actor=shop.world.cashier)
        ctx = receipts.receipt_context(receipt)
        assert ctx["reprint_label"] == "REPRINT 1"
        assert "REPRINT 1" in "\n".join(escpos.receipt_lines(ctx, 32))

    def test_it_prints_the_clear_credit_token_of_an_approved_reversal(self, shop, client):
        from prepay.vending.reversals import do_approve_reversal, do_request_reversal

        vend = self._sell(shop, amount="30.00")
        sale_sig = receipts.receipt_signature(vend.receipt)
        rev = do_request_reversal(
            vend=vend, actor=shop.world.cashier, reason="Wrong meter", token_entered=True
        )
        rev = do_approve_reversal(reversal=rev, actor=shop.world.admin)
        receipt = Receipt.objects.get(reversal=rev)
        ctx = receipts.receipt_context(receipt)
        rows = dict(ctx["rows"])
        clear = IssuedToken.objects.get(meter=shop.meter, kind="management")
        assert (
            ctx["tokens"] == [receipts.token_groups(clear.token)] and "clear-credit" in ctx["delivery_note"]
        )
        assert rows["Reverses receipt"] == vend.receipt_no and rows["Token entered on the meter"] == "yes"
        assert rows["Amount reversed"] == "¥30.00"
        # the sale's own receipt still verifies, and now says it was reversed
        body = client.get(f"/r/{vend.receipt_no}/", {"s": sale_sig}).content.decode()
        assert "Genuine receipt" in body and "Reversed" in body


class CarriedCreditReceiptTestCase:
    """The receipt of credit carried over at a meter replacement: no money, the new meter's token."""

    def receipt(self, shop):
        from prepay.meters.actions import do_replace_meter

        new = shop.sts_meter()
        inst = do_replace_meter(
            account=shop.account,
            new_meter=new,
            old_closing_reading=Decimal("150"),
            remaining_credit=Decimal("12.5"),
            new_opening_reading=Decimal("0"),
            actor=shop.world.clerk,
        )
        return Receipt.objects.get(delivery=inst.credit_delivery), new

    def test_it_shows_the_carried_energy_the_meters_and_the_token(self, shop):
        receipt, new = self.receipt(shop)
        ctx = receipts.receipt_context(receipt)
        rows = dict(ctx["rows"])
        token = receipt.delivery.tokens.get()
        assert ctx["kind"] == "carried" and ctx["title"] == "Credit carried over (meter replacement)"
        assert rows["Meter no."] == new.serial and rows["Replaced meter"] == shop.meter.serial
        assert rows["Energy carried over"] == "12.500 kWh" and "Amount paid" not in rows
        assert ctx["tokens"] == [receipts.token_groups(token.token)] and ctx["operator"] == "clerk_a1"
        assert "new meter's keypad" in ctx["delivery_note"]

    def test_it_verifies_and_prints_for_staff_of_the_site(self, shop, client):
        receipt, _new = self.receipt(shop)
        assert receipts.check_signature(receipt, receipts.receipt_signature(receipt))
        client.force_login(shop.world.clerk)
        page = client.get(reverse("receipts:print", args=[receipt.code])).content.decode()
        assert receipt.code in page and receipts.token_groups(receipt.delivery.tokens.get().token) in page
        assert b"\x1b@" in client.get(reverse("receipts:escpos", args=[receipt.code])).content
        client.force_login(shop.world.clerk_b)
        assert client.get(reverse("receipts:print", args=[receipt.code])).status_code == 404
