"""The zh-Hans catalogue is complete, compiled, and used by the pages."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

LOCALE = Path(__file__).resolve().parents[1] / "prepay" / "locale" / "zh_Hans" / "LC_MESSAGES"
ENTRY = re.compile(
    r'^(?P<flags>(?:#.*\n)*)msgid (?P<id>"(?:[^"\\]|\\.)*"(?:\n"(?:[^"\\]|\\.)*")*)\n'
    r'(?:msgid_plural (?P<plural>"(?:[^"\\]|\\.)*"(?:\n"(?:[^"\\]|\\.)*")*)\n)?'
    r'(?P<strs>(?:msgstr(?:\[\d\])? "(?:[^"\\]|\\.)*"(?:\n"(?:[^"\\]|\\.)*")*\n?)+)',
    re.M,
)


def _unquote(block: str) -> str:
    return "".join(eval(line) for line in block.splitlines())  # noqa: S307 - PO string literals


def entries() -> list[tuple[str, list[str], str]]:
    return [(mid, strs, flags) for mid, strs, flags, _plural in plural_entries()]


def plural_entries() -> list[tuple[str, list[str], str, str | None]]:
    """(msgid, msgstrs, flags, msgid_plural or None) of every entry."""
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    out = []
    for m in ENTRY.finditer(text):
        strs = re.findall(r'msgstr(?:\[\d\])? ((?:"(?:[^"\\]|\\.)*"\n?)+)', m.group("strs"))
        plural = _unquote(m.group("plural")) if m.group("plural") else None
        out.append((_unquote(m.group("id")), [_unquote(s.strip()) for s in strs], m.group("flags"), plural))
    return out


class CatalogueTestCase:
    def test_it_translates_every_message(self):
        found = entries()
        assert len(found) > 300
        untranslated = [mid for mid, strs, _ in found if mid and not all(strs)]
        fuzzy = [mid for mid, _, flags in found if mid and "fuzzy" in flags]
        assert untranslated == [] and fuzzy == []

    def test_it_keeps_placeholders(self):
        # Chinese has one plural form: its msgstr[0] serves every count, so it carries the plural's
        # placeholders (what msgfmt --check-format demands too)
        ph = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")
        wrong = [
            mid
            for mid, strs, _, plural in plural_entries()
            if mid
            for s in strs
            if sorted(ph.findall(plural or mid)) != sorted(ph.findall(s))
        ]
        assert wrong == []

    def test_it_ships_a_compiled_catalogue_matching_the_source(self):
        catalogue = gettext.GNUTranslations((LOCALE / "django.mo").open("rb"))
        stale = [mid for mid, strs, _ in found_nonempty() if catalogue.gettext(mid) != strs[0]]
        assert stale == [], "run `make messages` (compiles django.mo)"


def found_nonempty() -> list[tuple[str, list[str], str]]:
    return [e for e in entries() if e[0]]


class ChineseUiTestCase:
    @pytest.mark.parametrize("url", ["login", "home"])
    def test_it_serves_pages_in_chinese_by_default(self, client, world, url):
        client.force_login(world.clerk)
        page = client.get(reverse(url), HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert page.status_code == 200 and page.headers["Content-Language"] == "zh-hans"
        with translation.override("zh-hans"):
            assert translation.gettext("Log out") in page.content.decode()
