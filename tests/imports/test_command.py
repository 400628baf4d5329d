"""The `prepay import` management command."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from prepay.cli import main as prepay_main
from prepay.meters.models import Meter
from tests.imports.helpers import METER_HEADER, counts, csv_bytes


def meter_file(tmp_path: Path, *rows: list[str]) -> str:
    path = tmp_path / "meters.csv"
    path.write_bytes(csv_bytes([METER_HEADER, *[r + [""] * (len(METER_HEADER) - len(r)) for r in rows]]))
    return str(path)


class ImportCommandTestCase:
    def test_it_imports_a_good_file_and_prints_a_summary(self, world: Any, tmp_path: Path) -> None:
        out = io.StringIO()
        call_command(
            "import", "meters", meter_file(tmp_path, ["a1", "S1", "dds"]), "--user", "clerk_a1", stdout=out
        )
        assert "Imported 1 rows" in out.getvalue()
        assert Meter.objects.filter(serial="S1").exists()

    def test_it_exits_1_and_lists_every_bad_row(self, world: Any, tmp_path: Path) -> None:
        before = counts()
        out = io.StringIO()
        report = tmp_path / "report.csv"
        path = meter_file(tmp_path, ["a1", "S1", "dds"], ["a1", "S2", "dds", "0"], ["a1", "S3", "nope"])
        with pytest.raises(CommandError) as exc:
            call_command("import", "meters", path, "--user", "clerk_a1", "--report", str(report), stdout=out)
        assert exc.value.returncode == 1
        text = out.getvalue()
        assert "row 3 [ct_ratio]" in text and "row 4 [meter_model_code]" in text
        lines = report.read_text(encoding="utf-8-sig").splitlines()
        assert lines[0] == "row,column,value,message" and len(lines) == 3
        assert counts() == before

    def test_it_writes_nothing_on_a_dry_run(self, world: Any, tmp_path: Path) -> None:
        out = io.StringIO()
        call_command(
            "import",
            "meters",
            meter_file(tmp_path, ["a1", "S1", "dds"]),
            "--user",
            "clerk_a1",
            "--dry-run",
            stdout=out,
        )
        assert "Dry run" in out.getvalue()
        assert not Meter.objects.filter(serial="S1").exists()

    def test_it_refuses_a_cashier_with_exit_1(self, world: Any, tmp_path: Path) -> None:
        with pytest.raises(CommandError) as exc:
            call_command(
                "import",
                "meters",
                meter_file(tmp_path, ["a1", "S1", "dds"]),
                "--user",
                "cashier_a1",
                stdout=io.StringIO(),
            )
        assert exc.value.returncode == 1
        assert not Meter.objects.filter(serial="S1").exists()

    def test_it_exits_2_on_bad_usage(self, world: Any, tmp_path: Path) -> None:
        path = meter_file(tmp_path, ["a1", "S1", "dds"])
        for args in (
            [path],
            [path, "--user", "nobody"],
            [str(tmp_path / "missing.csv"), "--user", "clerk_a1"],
        ):
            with pytest.raises(CommandError) as exc:
                call_command("import", "meters", *args, stdout=io.StringIO())
            assert exc.value.returncode == 2

    def test_it_returns_the_exit_status_through_the_prepay_entry_point(
        self, world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # run_from_argv closes every connection when it ends; that would end this test's transaction
        monkeypatch.setattr(connections, "close_all", lambda: None)
        good = meter_file(tmp_path, ["a1", "S1", "dds"])
        assert prepay_main(["import", "meters", good, "--user", "clerk_a1"]) == 0
        bad = meter_file(tmp_path, ["a1", "S2", "dds", "0"])
        with pytest.raises(SystemExit) as exc:
            prepay_main(["import", "meters", bad, "--user", "clerk_a1"])
        assert exc.value.code == 1
        assert not Meter.objects.filter(serial="S2").exists()

    def test_it_shows_a_progress_bar_for_many_rows(self, world: Any, tmp_path: Path) -> None:
        rows = [["a1", f"S{i:04d}", "dds"] for i in range(250)]
        err = io.StringIO()
        call_command(
            "import",
            "meters",
            meter_file(tmp_path, *rows),
            "--user",
            "clerk_a1",
            stdout=io.StringIO(),
            stderr=err,
        )
        assert Meter.objects.filter(serial__startswith="S0").count() == 250


class TemplateCommandTestCase:
    def test_it_writes_csv_and_xlsx_templates(self, world: Any, tmp_path: Path) -> None:
        csv_path, xlsx_path = tmp_path / "units.csv", tmp_path / "units.xlsx"
        call_command("import", "template", "units", "-o", str(csv_path), stdout=io.StringIO())
        call_command(
            "import", "template", "units", "--headers", "zh", "-o", str(xlsx_path), stdout=io.StringIO()
        )
        assert csv_path.read_bytes().startswith(b"\xef\xbb\xbfsite_code,building_code")
        assert xlsx_path.read_bytes().startswith(b"PK")

    def test_it_writes_a_csv_template_to_stdout(self, world: Any) -> None:
        out = io.StringIO()
        call_command("import", "template", "meters", "--headers", "zh", stdout=out)
        assert out.getvalue().startswith("站点编码,表号,表型编码")

    def test_it_refuses_an_unknown_kind(self, world: Any) -> None:
        with pytest.raises(CommandError):
            call_command("import", "template", "tariffs", stdout=io.StringIO())
