"""Pages never show a code name: every audit verb the code writes has words (prepay.web.labels), in
English and in Chinese, and meter events read as sentences — a water meter's of its valve."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation

from prepay.web.labels import VERB_LABELS, event_text, verb_label

ROOT = Path(__file__).resolve().parents[2] / "prepay"
VERB = re.compile(r"^[a-z_]+\.[a-z_]+(\.[a-z_]+)?$")
#: functions that write an audit event, with the verb as a keyword or their second argument
WRITERS = ("record_event", "_audit", "_record", "audit_command")


def _verbs_in(node: ast.AST) -> list[str]:
    """The verb-shaped strings of an expression: a constant, or both arms of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and VERB.match(node.value):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _verbs_in(node.body) + _verbs_in(node.orelse)
    return []


def written_verbs() -> set[str]:
    """Every verb the code writes as a literal: ``verb="…"`` anywhere, ``verb = "…"`` and the second
    argument of an audit helper (``_audit(actor, "tariff.create", …)``)."""
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.keyword)
                and node.arg == "verb"
                or isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "verb" for t in node.targets)
            ):
                found.update(_verbs_in(node.value))
            elif isinstance(node, ast.Call) and len(node.args) >= 2:
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in WRITERS:
                    found.update(_verbs_in(node.args[1]))
    return found


class VerbLabelsTestCase:
    def test_the_scan_finds_the_verbs(self) -> None:
        verbs = written_verbs()
        assert {"tariff.version", "login.unlock", "keys.import"} <= verbs  # verb="…"
        assert {
            "tariff.create",
            "reconciliation.handover",
            "membership.create",
        } <= verbs  # helpers, a if c else b
        assert {"meter.command.retry", "shift.open"} <= verbs  # verb = "…", _audit(actor, "…")

    def test_every_verb_written_has_its_own_words(self) -> None:
        missing = sorted(v for v in written_verbs() if v not in VERB_LABELS)
        assert not missing, f"audit verbs without words in prepay/web/labels.py: {missing}"

    @pytest.mark.parametrize("verb", sorted(VERB_LABELS))
    def test_each_reads_in_chinese(self, verb: str) -> None:
        with translation.override("zh-hans"):
            words = str(verb_label(verb))
        assert words != verb and re.search(r"[\u4e00-\u9fff]", words), (verb, words)

    def test_an_unknown_verb_is_never_shown_as_code(self) -> None:
        with translation.override("zh-hans"):
            words = str(verb_label("vend.something_new"))
        assert "vend." not in words and "something_new" not in words


class MeterEventTextTestCase:
    def test_a_relay_event_reads_as_a_sentence(self) -> None:
        with translation.override("en"):
            text = event_text("relay", {"from": "closed", "to": "open"})
        assert "{" not in text and "'from'" not in text and text

    def test_a_water_meters_relay_is_its_valve(self) -> None:
        with translation.override("en"):
            text = event_text("relay", {"from": "closed", "to": "open"}, water=True)
        assert "valve" in text.lower() and "relay" not in text.lower()
        with translation.override("zh-hans"):
            text = event_text("relay", {"from": "closed", "to": "open"}, water=True)
        assert "阀" in text and "继电器" not in text
