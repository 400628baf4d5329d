"""Meters in the back office: register, edit, and the stock screens (faulty, to stock, retire)."""

from __future__ import annotations

from prepay.audit.models import AuditEvent
from prepay.meters.choices import MeterStatus
from prepay.meters.models import Meter
from tests import factories as f


def meter_data(w, **kw):
    data = {
        "site": w.site.pk,
        "serial": kw.get("serial", "SN-NEW-1"),
        "model": w.three.pk,
        "ct_ratio": kw.get("ct_ratio", 50),
        "pt_ratio": 1,
        "drn": "",
        "supply_group_code": "",
        "tariff_index": "",
        "key_revision": 1,
        "key_type": 2,
        "encryption_algorithm": "07",
        "base_date": 1993,
        "protocol": "",
        "comm_params": "{}",
    }
    data.update({"installations-TOTAL_FORMS": 0, "installations-INITIAL_FORMS": 0})
    return data


class RegisterMeterTestCase:
    def test_it_registers_a_meter_through_the_action(self, world, login):
        response = login(world.clerk).post("/admin/meters/meter/add/", meter_data(world.a1))
        assert response.status_code == 302
        m = Meter.objects.get(serial="SN-NEW-1")
        assert (m.group, m.site, m.ct_ratio, m.status) == (
            world.a1.group,
            world.a1.site,
            50,
            MeterStatus.IN_STOCK,
        )
        assert AuditEvent.objects.filter(verb="meter.register", object_id=str(m.pk)).exists()

    def test_it_refuses_a_ct_ratio_of_zero_on_the_form(self, world, login):
        response = login(world.clerk).post("/admin/meters/meter/add/", meter_data(world.a1, ct_ratio=0))
        assert response.status_code == 200
        assert b"greater than or equal to 1" in response.content
        assert not Meter.objects.filter(serial="SN-NEW-1").exists()

    def test_it_refuses_a_duplicate_serial_on_the_form(self, world, login):
        serial = world.a1.meters[0].serial
        response = login(world.clerk).post("/admin/meters/meter/add/", meter_data(world.a2, serial=serial))
        assert response.status_code in (200, 400)
        assert Meter.objects.filter(serial=serial).count() == 1

    def test_it_refuses_a_cashier(self, world, login):
        assert login(world.cashier).get("/admin/meters/meter/add/").status_code == 403
        assert login(world.cashier).post("/admin/meters/meter/add/", meter_data(world.a1)).status_code == 403

    def test_it_refuses_a_site_the_clerk_does_not_work_at(self, world, login):
        response = login(world.clerk).post("/admin/meters/meter/add/", meter_data(world.a2))
        assert response.status_code == 200
        assert not Meter.objects.filter(serial="SN-NEW-1").exists()

    def test_it_keeps_status_and_ratios_read_only_on_change(self, world, login):
        m = world.a1.meters[0]
        data = meter_data(world.a1, serial=m.serial, ct_ratio=200)
        data.update({"status": "retired", "drn": "12345678901"})
        response = login(world.clerk).post(f"/admin/meters/meter/{m.pk}/change/", data)
        assert response.status_code == 302
        m.refresh_from_db()
        assert (m.ct_ratio, m.status, m.drn) == (1, MeterStatus.IN_STOCK, "12345678901")
        assert AuditEvent.objects.filter(verb="meter.update").exists()

    def test_it_gives_an_outsider_404(self, world, login):
        m = world.a1.meters[0]
        assert login(world.clerk_a2).get(f"/admin/meters/meter/{m.pk}/change/").status_code == 404
        assert login(world.clerk_b).get(f"/admin/meters/meter/{m.pk}/history/").status_code == 404


class StockScreensTestCase:
    def test_it_offers_stock_buttons_to_clerks_only(self, world, login):
        m = world.a1.meters[0]
        page = f"/admin/meters/meter/{m.pk}/change/"
        assert f"/admin/meters/meter/{m.pk}/faulty/".encode() in login(world.clerk).get(page).content
        assert f"/admin/meters/meter/{m.pk}/faulty/".encode() not in login(world.cashier).get(page).content

    def test_it_marks_a_meter_faulty(self, world, login):
        m = world.a1.meters[0]
        response = login(world.clerk).post(f"/admin/meters/meter/{m.pk}/faulty/", {"reason": "display dead"})
        assert response.status_code == 302
        m.refresh_from_db()
        assert m.status == MeterStatus.FAULTY
        assert AuditEvent.objects.filter(verb="meter.faulty").exists()

    def test_it_requires_a_reason_to_mark_faulty(self, world, login):
        m = world.a1.meters[0]
        response = login(world.clerk).post(f"/admin/meters/meter/{m.pk}/faulty/", {"reason": "   "})
        assert response.status_code in (200, 400)
        m.refresh_from_db()
        assert m.status == MeterStatus.IN_STOCK

    def test_it_shows_already_faulty_on_the_form(self, world, login):
        m = world.a1.meters[0]
        Meter.objects.filter(pk=m.pk).update(status=MeterStatus.FAULTY)
        response = login(world.clerk).post(f"/admin/meters/meter/{m.pk}/faulty/", {"reason": "again"})
        assert response.status_code == 400
        assert b"is already" in response.content

    def test_it_returns_a_faulty_meter_to_stock(self, world, login):
        m = world.a1.meters[0]
        Meter.objects.filter(pk=m.pk).update(status=MeterStatus.FAULTY)
        assert (
            login(world.clerk).post(f"/admin/meters/meter/{m.pk}/to-stock/", {"reason": ""}).status_code
            == 302
        )
        m.refresh_from_db()
        assert m.status == MeterStatus.IN_STOCK

    def test_it_refuses_returning_a_meter_in_stock(self, world, login):
        m = world.a1.meters[0]
        response = login(world.clerk).post(f"/admin/meters/meter/{m.pk}/to-stock/", {"reason": ""})
        assert response.status_code == 400
        assert b"Only a faulty meter" in response.content

    def test_it_refuses_returning_an_installed_meter(self, world, login):
        m = world.a1.meters[0]
        f.account(world.a1, meter_=m)
        Meter.objects.filter(pk=m.pk).update(status=MeterStatus.FAULTY)
        response = login(world.clerk).post(f"/admin/meters/meter/{m.pk}/to-stock/", {"reason": ""})
        assert response.status_code == 400
        assert b"still installed" in response.content

    def test_it_retires_a_meter(self, world, login):
        m = world.a1.meters[0]
        assert (
            login(world.admin).post(f"/admin/meters/meter/{m.pk}/retire/", {"reason": "scrap"}).status_code
            == 302
        )
        m.refresh_from_db()
        assert m.status == MeterStatus.RETIRED

    def test_it_refuses_retiring_an_installed_meter(self, world, login):
        m = world.a1.meters[0]
        f.account(world.a1, meter_=m)
        response = login(world.clerk).post(f"/admin/meters/meter/{m.pk}/retire/", {"reason": "scrap"})
        assert response.status_code == 400
        assert b"cannot be retired" in response.content
        m.refresh_from_db()
        assert m.status == MeterStatus.INSTALLED

    def test_it_refuses_a_wrong_role(self, world, login):
        m = world.a1.meters[0]
        for url in ("faulty", "to-stock", "retire"):
            assert (
                login(world.cashier).post(f"/admin/meters/meter/{m.pk}/{url}/", {"reason": "x"}).status_code
                == 403
            )
            assert login(world.finance).get(f"/admin/meters/meter/{m.pk}/{url}/").status_code == 403
        m.refresh_from_db()
        assert m.status == MeterStatus.IN_STOCK

    def test_it_gives_an_outsider_404(self, world, login):
        m = world.a1.meters[0]
        for url in ("faulty", "to-stock", "retire"):
            assert (
                login(world.clerk_a2).post(f"/admin/meters/meter/{m.pk}/{url}/", {"reason": "x"}).status_code
                == 404
            )
            assert login(world.clerk_b).get(f"/admin/meters/meter/{m.pk}/{url}/").status_code == 404
