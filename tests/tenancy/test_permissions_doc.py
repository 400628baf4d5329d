from __future__ import annotations

from pathlib import Path

from django.utils import translation

from prepay.tenancy.permissions import CAPABILITIES, render_matrix

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


class PermissionsDocTestCase:
    def test_it_matches_the_capability_table(self):
        text = DOC.read_text(encoding="utf-8")
        block = text.split("<!-- matrix:start -->\n", 1)[1].split("\n<!-- matrix:end -->", 1)[0]
        with translation.override("en"):
            assert block.strip() == render_matrix().strip()

    def test_it_lists_every_capability(self):
        with translation.override("en"):
            matrix = render_matrix()
        assert all(f"`{cap}`" in matrix for cap in CAPABILITIES)
