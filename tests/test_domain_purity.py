"""prepay.domain is pure Python: no module in it may import Django (or any Prepay app)."""

from __future__ import annotations

import ast
from pathlib import Path

import prepay.domain

DOMAIN = Path(prepay.domain.__file__).parent
FORBIDDEN = (
    "django",
    "prepay.tenancy",
    "prepay.customers",
    "prepay.meters",
    "prepay.vending",
    "prepay.common",
)


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


class DomainPurityTestCase:
    def test_it_finds_the_domain_modules(self):
        assert len(list(DOMAIN.rglob("*.py"))) >= 2

    def test_it_never_imports_django_or_apps(self):
        offenders = [
            f"{path.relative_to(DOMAIN)}: {name}"
            for path in DOMAIN.rglob("*.py")
            for name in imported_modules(path)
            if name.split(".")[0] == "django" or name.startswith(FORBIDDEN)
        ]
        assert offenders == []

    def test_it_detects_a_django_import(self, tmp_path):
        bad = tmp_path / "bad.py"
        bad.write_text("from django.db import models\nimport os\n")
        assert imported_modules(bad) == ["django.db", "os"]
