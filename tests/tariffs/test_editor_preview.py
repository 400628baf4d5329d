"""The editor's preview: sample bills computed by the engine from the form as typed, nothing saved."""

from __future__ import annotations

from decimal import Decimal

from prepay.tariffs.models import Tariff
from tests.helpers import changes_nothing
from tests.tariffs.conftest import (
    ADD_URL,
    TIERED_BLOCKS,
    TOU_DAY,
    TOU_PERIODS,
    change_url,
    editor_data,
    stored_data,
    text_at,
)


def preview(world, login, **kw):
    data = editor_data(world.a1.group, _save=None, _preview="1", **kw)
    with changes_nothing():
        response = login(world.admin).post(ADD_URL, data)
    assert response.status_code == 200, text_at(response, "content-main")
    return response


class TariffEditorPreviewTestCase:
    def test_it_prices_a_typical_month_across_the_tiers(self, world, login):
        response = preview(world, login, kind="tiered", tables={"blocks": TIERED_BLOCKS})
        assert "¥58.80" in text_at(response, "preview-cycle-0")  # 100 kWh × 0.588
        assert "¥117.60" in text_at(response, "preview-cycle-1")  # 200 kWh
        row = text_at(response, "preview-cycle-2")  # 200 × 0.588 + 200 × 0.638
        assert "Tier 2: 200 × 0.638 = 127.60" in row and "¥245.20" in row and "0.6130" in row
        assert not Tariff.objects.filter(code="biz").exists()

    def test_it_also_prices_the_energy_asked_for(self, world, login):
        response = preview(
            world, login, kind="tiered", tables={"blocks": TIERED_BLOCKS}, preview_energy="800"
        )
        row = text_at(response, "preview-cycle-3")  # 117.60 + 127.60 + 400 × 0.888
        assert "800 kWh" in row and "Tier 3: 400 × 0.888 = 355.20" in row and "¥600.40" in row

    def test_it_refuses_a_preview_energy_of_nothing(self, world, login):
        data = editor_data(world.a1.group, price="1", preview_energy="0", _save=None, _preview="1")
        response = login(world.admin).post(ADD_URL, data)
        assert response.status_code == 400
        assert "Must be more than 0." in text_at(response, "class=form-row field-preview_energy errors")

    def test_it_adds_vat_and_the_monthly_charge(self, world, login):
        response = preview(
            world,
            login,
            price="0.8650",
            vat_percent="13",
            vat_included="",
            tables={"charges": [{"name": "meter rent", "amount": "5", "per": "cycle"}]},
        )
        row = text_at(response, "preview-cycle-0")  # (86.50 + 5.00) × 1.13
        assert "meter rent 5.00" in row and "11.90" in row and "¥103.40" in row

    def test_it_flags_a_bill_a_sale_would_refuse(self, world, login):
        response = preview(world, login, price="1", max_purchase="300")
        assert "above the maximum purchase" in text_at(response, "preview-cycle-2")  # 400 kWh: ¥400
        assert "maximum" not in text_at(response, "preview-cycle-1")

    def test_it_bills_a_time_of_use_day_per_day_type(self, world, login):
        weekend = [{"start": "00:00", "end": "24:00", "period": "valley"}]
        response = preview(
            world, login, kind="tou", tables={"periods": TOU_PERIODS, "workday": TOU_DAY, "weekend": weekend}
        )
        workday = text_at(response, "preview-day-0")  # 8+2 h valley, 2+5 h flat, 2 h sharp, 5 h peak
        assert "2026-07-01" in workday and "Sharp period: 2 × 1.25 = 2.50" in workday and "¥15.15" in workday
        assert "2026-07-04" in text_at(response, "preview-day-1") and "¥7.68" in text_at(
            response, "preview-day-1"
        )
        assert text_at(response, "preview-day-2") == ""  # holidays follow the weekend
        assert "¥65.00" in text_at(response, "preview-cycle-0")  # 100 kWh bought ahead at 0.65

    def test_it_shows_the_json_it_would_store_read_only(self, world, login):
        response = preview(world, login, kind="tiered", tables={"blocks": TIERED_BLOCKS})
        assert '"upto": "400"' in text_at(response, "tariff-json")
        assert 'name="definition"' not in response.content.decode()

    def test_it_previews_a_stored_version_when_it_opens(self, world, login):
        response = login(world.admin).get(change_url(world.a1.tariff))
        assert "¥58.80" in text_at(response, "preview-cycle-0")  # 100 kWh at the flat 0.588

    def test_it_previews_a_change_before_it_is_saved(self, world, login):
        row = world.a1.tariff
        data = stored_data(row, price="0.6000", _preview="1")
        response = login(world.admin).post(change_url(row), data)
        assert "¥60.00" in text_at(response, "preview-cycle-0")
        row.refresh_from_db()
        assert row.unit_price == Decimal("0.5880")
