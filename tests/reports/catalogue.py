"""The messages the reports app adds, found in its code and templates, so tests can check each has a
zh-Hans translation in the compiled catalogue (prepay/locale/zh_Hans/LC_MESSAGES/django.mo).

A pending file (prepay/locale/pending/reports.json) is only used while a change is being written:
its translations are installed on top of the compiled catalogue (never overriding it) until
``make messages`` brings them into the catalogue.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PENDING = ROOT / "prepay" / "locale" / "pending" / "reports.json"
SOURCES = [ROOT / "prepay" / "reports", ROOT / "prepay" / "domain" / "reporting.py"]
#: the reconciliation app's own code (its pages are templates/reports/reconciliation*.html)
RECONCILIATION = [ROOT / "prepay" / "reconciliation"]
TEMPLATES = ROOT / "templates" / "reports"
GETTEXT_NAMES = {"_", "_g", "gettext", "gettext_lazy", "pgettext"}
TAG = re.compile(r"""\{%\s*(?:translate|trans)\s+(?P<q>["'])(?P<id>.*?)(?P=q)""")
BLOCK = re.compile(
    r"\{%\s*blocktrans(?:late)?(?P<args>[^%]*)%\}(?P<body>.*?)\{%\s*endblocktrans(?:late)?\s*%\}", re.S
)
VAR = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def python_messages(sources: list[Path] = SOURCES) -> set[str]:
    found: set[str] = set()
    files = [p for s in sources for p in ([s] if s.is_file() else s.rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in GETTEXT_NAMES
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def template_messages() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        found |= {m.group("id") for m in TAG.finditer(text)}
        for m in BLOCK.finditer(text):
            body = VAR.sub(r"%(\1)s", m.group("body"))
            if "trimmed" in m.group("args"):
                body = " ".join(line.strip() for line in body.strip().splitlines())
            found.add(body)
    return found


def messages() -> set[str]:
    return python_messages() | template_messages()


def pending() -> dict[str, str]:
    if not PENDING.exists():  # merged into the catalogue
        return {}
    return json.loads(PENDING.read_text(encoding="utf-8"))


def install_pending() -> None:
    """Add the pending translations to the active zh-hans catalogue (the compiled ones win)."""
    from django.utils import translation
    from django.utils.translation import trans_real

    with translation.override("zh-hans"):
        catalog = trans_real.translation("zh-hans")._catalog  # type: ignore[attr-defined]
        for msgid, msgstr in pending().items():
            if msgid not in catalog:
                catalog[msgid] = msgstr
