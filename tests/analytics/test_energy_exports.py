"""The energy analysis as Excel (sheets with native charts, numbers as numbers) and PDF."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.analytics.test_energy_view import building, url  # noqa: F401 - fixture


class EnergyExportsTestCase:
    def test_it_writes_every_table_with_charts_to_excel(self, client, world, building):  # noqa: F811
        client.force_login(world.finance)
        path, params = url(building.site)
        response = client.get(path, {**params, "export": "xlsx"})
        assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
        wb = load_workbook(io.BytesIO(response.content))
        assert wb.sheetnames == ["Items", "Over time", "Areas", "Time of use", "Top consumers"]
        items = wb["Items"]
        assert items["A5"].value == "A · Lighting and sockets" and items["B5"].value == 310
        assert items["C5"].number_format == "0.00%" and items["E5"].value == 0.25
        assert len(items._charts) == 1 and len(wb["Over time"]._charts) == 1

    def test_it_renders_a_pdf_with_charts(self, client, world, building):  # noqa: F811
        client.force_login(world.finance)
        path, params = url(building.site)
        response = client.get(path, {**params, "export": "pdf"})
        assert response.status_code == 200 and response.content.startswith(b"%PDF")

    def test_it_answers_an_unknown_export_with_404(self, client, world, building):  # noqa: F811
        client.force_login(world.finance)
        path, params = url(building.site)
        assert client.get(path, {**params, "export": "csv"}).status_code == 404
