"""Pages never show a code name: every audit verb the code writes has words (prepay.web.labels), in
English and in Chinese, and meter events read as sentences — a water meter's of its valve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

from prepay.web.labels import VERB_LABELS, event_text, verb_label

ROOT = Path(__file__).resolve().parents[2] / "prepay"
#: ``verb="vend.sell"`` and ``verb = "vend.sell"`` as the actions write them
LITERAL = re.compile(r"""\bverb\s*=\s*["']([a-z_]+\.[a-z_.]+)["']""")


def written_verbs() -> set[str]:
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        found |= set(LITERAL.findall(path.read_text(encoding="utf-8")))
    return found


class VerbLabelsTestCase:
    def test_the_scan_finds_the_verbs(self) -> None:
        assert {"tariff.version", "login.unlock", "keys.import"} <= written_verbs()

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
