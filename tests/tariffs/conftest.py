"""Tariff editor tests: a signed-in client per user, and helpers to post the editor's form."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from prepay.tariffs.editor import row_data
from tests.vending.conftest import shop, store  # noqa: F401 - the vending fixtures, for sales

ADD_URL = "/admin/tariffs/tariff/add/"


def change_url(row: Any) -> str:
    return f"/admin/tariffs/tariff/{row.pk}/change/"


@pytest.fixture
def login() -> Callable[[Any], Client]:
    """``login(user)`` → a test client with ``user`` signed in (English, so labels are stable)."""

    def make(user: Any) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(user)
        return client

    return make


def table(prefix: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Form data of one editor table (management form + rows)."""
    data: dict[str, Any] = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{k}": v for k, v in row.items()})
    return data


def editor_data(
    group: Any, *, kind: str = "flat", tables: dict[str, list[dict[str, Any]]] | None = None, **main: Any
) -> dict[str, Any]:
    """A complete editor post for a new tariff of ``kind`` in ``group`` (overrides in ``main``)."""
    data: dict[str, Any] = {
        "group": group.pk,
        "site": "",
        "code": "biz",
        "name": "Business",
        "utility": "electricity",
        "kind": kind,
        "cycle": "month",
        "effective_from": "2026-07-01",
        "vat_percent": "0",
        "vat_included": "on",
        "rounding_money": "ROUND_HALF_UP",
        "rounding_energy": "ROUND_HALF_UP",
        "_save": "Save",
    }
    data.update(main)
    all_tables = {p: [] for p in ("blocks", "periods", "workday", "weekend", "holiday", "charges")}
    all_tables.update(tables or {})
    for prefix, rows in all_tables.items():
        data.update(table(prefix, rows))
    return {k: v for k, v in data.items() if v is not None}


def stored_data(row: Any, **changes: Any) -> dict[str, Any]:
    """The editor's form data for a stored row, as the change page posts it, with ``changes``."""
    data = row_data(row, today=row.effective_from)
    data.update({"rounding_money": data.get("rounding_money", "ROUND_HALF_UP")})
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


TIERED_BLOCKS = [
    {"upto": "200", "price": "0.5880"},
    {"upto": "400", "price": "0.6380"},
    {"upto": "", "price": "0.8880"},
]
TOU_PERIODS = [
    {"name": "sharp", "price": "1.2500"},
    {"name": "peak", "price": "0.9800"},
    {"name": "flat", "price": "0.6500"},
    {"name": "valley", "price": "0.3200"},
]
TOU_DAY = [
    {"start": "00:00", "end": "08:00", "period": "valley"},
    {"start": "08:00", "end": "10:00", "period": "flat"},
    {"start": "10:00", "end": "12:00", "period": "sharp"},
    {"start": "12:00", "end": "17:00", "period": "peak"},
    {"start": "17:00", "end": "22:00", "period": "flat"},
    {"start": "22:00", "end": "24:00", "period": "valley"},
]


class _Finder(HTMLParser):
    VOID = {"input", "br", "img", "meta", "link", "hr", "col", "source", "wbr", "area", "base", "embed"}

    def __init__(self, selector: str) -> None:
        super().__init__()
        self.attr, _sep, self.value = selector.partition("=")
        self.depth = 0
        self.parts: list[str] = []
        self.found = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            if tag not in self.VOID:
                self.depth += 1
        elif dict(attrs).get(self.attr) == self.value and not self.found:
            self.found = True
            self.depth = 0 if tag in self.VOID else 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def text_at(response: Any, selector: str) -> str:
    """The text inside the element matching ``selector`` (``id=...`` by default, or ``class=...``),
    whitespace collapsed; '' when there is none."""
    if "=" not in selector:
        selector = f"id={selector}"
    finder = _Finder(selector)
    finder.feed(response.content.decode())
    return " ".join(" ".join(finder.parts).split())


def field_text(response: Any, name: str) -> str:
    """The text of the settings form's row for field ``name`` (its label, errors and help)."""
    return text_at(response, f"class=form-row field-{name} errors") or text_at(
        response, f"class=form-row field-{name}"
    )
