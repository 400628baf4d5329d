"""The import page and the template downloads."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from prepay.meters.models import Meter
from tests.imports.helpers import METER_HEADER, counts, csv_bytes, xlsx_bytes

URL = "/import/"


def client_for(user: Any) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c


def upload(rows: list[list[Any]], name: str = "meters.csv") -> SimpleUploadedFile:
    full = [r + [""] * (len(METER_HEADER) - len(r)) for r in rows]
    data = xlsx_bytes([METER_HEADER, *full]) if name.endswith(".xlsx") else csv_bytes([METER_HEADER, *full])
    return SimpleUploadedFile(name, data)


@pytest.mark.urls("tests.imports.urls")
class ImportPageTestCase:
    def test_it_shows_the_form_and_template_links(self, world: Any) -> None:
        r = client_for(world.clerk).get(URL)
        assert r.status_code == 200
        html = r.content.decode()
        assert 'name="file"' in html and 'name="csrfmiddlewaretoken"' in html
        assert "/import/template/meters.xlsx" in html

    def test_it_imports_a_good_file(self, world: Any) -> None:
        r = client_for(world.clerk).post(
            URL, {"kind": "meters", "file": upload([["a1", "S1", "dds"]], "m.xlsx")}
        )
        assert r.status_code == 200
        assert "Imported 1 rows" in r.content.decode()
        assert Meter.objects.filter(serial="S1").exists()

    def test_it_lists_every_bad_row_and_writes_nothing(self, world: Any) -> None:
        before = counts()
        rows = [["a1", "S1", "dds"], ["a1", "S2", "dds", "0"], ["a1", "S3", "nope"]]
        r = client_for(world.clerk).post(URL, {"kind": "meters", "file": upload(rows)})
        assert r.status_code == 422
        html = r.content.decode()
        assert "Nothing imported" in html and "<td>3</td>" in html and "<td>4</td>" in html
        assert "ct_ratio" in html and "meter_model_code" in html
        assert counts() == before

    def test_it_runs_a_dry_run(self, world: Any) -> None:
        r = client_for(world.clerk).post(
            URL, {"kind": "meters", "dry_run": "on", "file": upload([["a1", "S1", "dds"]])}
        )
        assert "Dry run" in r.content.decode()
        assert not Meter.objects.filter(serial="S1").exists()

    def test_it_keeps_csrf_on(self, world: Any) -> None:
        c = Client(enforce_csrf_checks=True)
        c.force_login(world.clerk)
        r = c.post(URL, {"kind": "meters", "file": upload([["a1", "S1", "dds"]])})
        assert r.status_code == 403
        assert not Meter.objects.filter(serial="S1").exists()

    def test_it_refuses_a_cashier(self, world: Any) -> None:
        c = client_for(world.cashier)
        assert c.get(URL).status_code == 403
        assert c.post(URL, {"kind": "meters", "file": upload([["a1", "S1", "dds"]])}).status_code == 403
        assert c.get("/import/template/meters.csv").status_code == 403
        assert not Meter.objects.filter(serial="S1").exists()

    def test_it_reports_an_outsider_row_by_row(self, world: Any) -> None:
        r = client_for(world.clerk_b).post(URL, {"kind": "meters", "file": upload([["a1", "S1", "dds"]])})
        assert r.status_code == 422 and "no access" in r.content.decode()
        assert not Meter.objects.filter(serial="S1").exists()

    def test_it_sends_anonymous_users_to_login(self, world: Any) -> None:
        r = Client().get(URL)
        assert r.status_code == 302 and "/login/" in r["Location"]


@pytest.mark.urls("tests.imports.urls")
class TemplateDownloadTestCase:
    def test_it_downloads_templates_that_import(self, world: Any) -> None:
        c = client_for(world.clerk)
        for fmt in ("csv", "xlsx"):
            r = c.get(f"/import/template/meters.{fmt}")
            assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
            post = c.post(URL, {"kind": "meters", "file": SimpleUploadedFile(f"t.{fmt}", r.content)})
            assert "Imported 1 rows" in post.content.decode()

    def test_it_follows_the_language_for_headers(self, world: Any) -> None:
        r = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        r.force_login(world.clerk)
        assert r.get("/import/template/units.csv").content.decode("utf-8-sig").startswith("站点编码")
        assert (
            r.get("/import/template/units.csv?headers=en").content.decode("utf-8-sig").startswith("site_code")
        )

    def test_it_404s_an_unknown_template(self, world: Any) -> None:
        assert client_for(world.clerk).get("/import/template/tariffs.csv").status_code == 404
