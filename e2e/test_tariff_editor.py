"""An administrator edits a tiered tariff in the structured editor: adds a block, previews sample
bills (Enter in a box previews, it never saves), then saves — no JSON typed, no inline script."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from prepay.tariffs.models import Tariff

pytestmark = pytest.mark.e2e

BLOCKS = [
    {"upto": "200", "price": "0.5880"},
    {"upto": "400", "price": "0.6380"},
    {"upto": None, "price": "0.8880"},
]


class TariffEditorTestCase:
    def test_it_adds_a_block_previews_and_saves(self, e2e_db, world, live_server, page, login, shot):
        row = Tariff.objects.create(
            group=world.a1.group,
            code="res-tiered",
            name="Residential tiered",
            kind="tiered",
            unit_price=Decimal("0.5880"),
            definition={"cycle": "month", "blocks": BLOCKS},
            effective_from=date(2026, 1, 1),
        )
        scripts: list[str] = []
        page.on("pageerror", lambda e: scripts.append(str(e)))
        login(page, world.admin)
        page.goto(f"{live_server.url}/admin/tariffs/tariff/{row.pk}/change/")
        expect(page.locator("#preview-cycle-2")).to_contain_text("¥245.20")  # the stored version's bills
        shot(page, "1-opened")

        page.click("#add-blocks")  # a submit button: the server adds the row, nothing is saved
        new_price = page.locator("input[name=blocks-3-price]")
        new_price.wait_for()
        page.fill("input[name=blocks-2-upto]", "600")
        new_price.fill("1.0880")
        page.fill("#id_preview_energy", "800")
        shot(page, "2-block-added")
        new_price.press("Enter")  # the form's default button is Preview
        preview = page.locator("#tariff-preview")
        expect(preview).to_be_visible()
        expect(page.locator("#preview-cycle-2")).to_contain_text("¥245.20")  # 400 kWh: still two tiers
        # 800 kWh: 117.60 + 127.60 + 200 × 0.888 + 200 × 1.088 (the new block)
        expect(page.locator("#preview-cycle-3")).to_contain_text("Tier 4: 200 × 1.088 = 217.60")
        expect(page.locator("#preview-cycle-3")).to_contain_text("¥640.40")
        assert Tariff.objects.get(pk=row.pk).definition["blocks"] == BLOCKS  # previewed, not saved
        shot(page, "3-preview")

        page.fill("input[name=blocks-3-price]", "-1")  # a refusal next to its row, nothing saved
        page.click("#tariff-save")
        expect(page.locator("#blocks-row-3")).to_contain_text("Must be more than 0.")
        assert Tariff.objects.get(pk=row.pk).definition["blocks"] == BLOCKS
        shot(page, "4-refused")

        page.fill("input[name=blocks-3-price]", "1.0880")
        page.click("#tariff-save")
        page.wait_for_url(re.compile(rf".*/admin/tariffs/tariff/{row.pk}/change/$"))
        expect(page.locator(".messagelist")).to_contain_text("saved")
        stored = Tariff.objects.get(pk=row.pk).definition["blocks"]
        assert [b["upto"] for b in stored] == ["200", "400", "600", None]
        assert stored[3]["price"] == "1.088"
        shot(page, "5-saved")
        assert scripts == []

    def test_it_shows_the_tables_of_the_chosen_kind_in_chinese(
        self, e2e_db, world, live_server, page, login, shot
    ):
        login(page, world.admin)
        page.goto(f"{live_server.url}/admin/tariffs/tariff/add/")
        page.select_option("#prepay-admin-lang", "zh-hans")  # the back office's language menu
        page.click("form.prepay-lang button[type=submit]")
        expect(page.locator("#tariff-save")).to_have_value("保存")
        expect(page.locator("#table-blocks")).to_be_hidden()
        page.select_option("#id_kind", "tiered")  # the script shows the kind's tables at once
        expect(page.locator("#table-blocks")).to_be_visible()
        expect(page.locator("#table-blocks")).to_contain_text("阶梯档位")
        page.select_option("#id_kind", "tou")
        expect(page.locator("#table-workday")).to_be_visible()
        expect(page.locator("#table-blocks")).to_be_hidden()
        shot(page, "1-time-of-use")
