"""Every invalid input is refused next to its field or table row, in the person's language, and
nothing is saved: the editor's rules are the engine parser's."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from prepay.tariffs.models import Tariff
from tests.helpers import changes_nothing
from tests.tariffs.conftest import (
    ADD_URL,
    TOU_DAY,
    TOU_PERIODS,
    change_url,
    editor_data,
    stored_data,
    text_at,
)

GAP_DAY = [
    {"start": "00:00", "end": "08:00", "period": "valley"},
    {"start": "09:00", "end": "24:00", "period": "flat"},
]
OVERLAP_DAY = [
    {"start": "00:00", "end": "09:00", "period": "valley"},
    {"start": "08:00", "end": "24:00", "period": "flat"},
]
SHORT_DAY = [
    {"start": "00:00", "end": "08:00", "period": "valley"},
    {"start": "08:00", "end": "23:00", "period": "flat"},
]
NO_SHARP = [p for p in TOU_PERIODS if p["name"] != "sharp"]


def tou(**tables: Any) -> dict[str, Any]:
    return {"periods": TOU_PERIODS, "workday": TOU_DAY, **tables}


def blocks(*rows: tuple[str, str]) -> dict[str, Any]:
    return {"blocks": [{"upto": u, "price": p} for u, p in rows]}


# (kind, tables, main fields, where the message is, what it says)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    ("flat", {}, {"price": "-0.5"}, "class=form-row field-price errors", "Must be more than 0."),
    ("flat", {}, {"price": "0"}, "class=form-row field-price errors", "Must be more than 0."),
    ("flat", {}, {"price": ""}, "class=form-row field-price errors", "Required."),
    ("flat", {}, {"price": "1E+2"}, "class=form-row field-price errors", "must be a plain number"),
    ("flat", {}, {"price": "1_000"}, "class=form-row field-price errors", "must be a plain number"),
    ("flat", {}, {"price": "NaN"}, "class=form-row field-price errors", "must be a plain number"),
    ("flat", {}, {"price": "0.58801"}, "class=form-row field-price errors", "at most 4 decimal places"),
    (
        "flat",
        {},
        {"price": "1", "vat_percent": "100"},
        "class=form-row field-vat_percent errors",
        "below 100 percent",
    ),
    (
        "flat",
        {},
        {"price": "1", "vat_percent": "-1"},
        "class=form-row field-vat_percent errors",
        "at least 0",
    ),
    (
        "flat",
        {},
        {"price": "1", "min_purchase": "100", "max_purchase": "50"},
        "class=form-row field-max_purchase errors",
        "not be below the minimum purchase, 100",
    ),
    (
        "flat",
        {},
        {"price": "1", "quota_energy": "50"},
        "class=form-row field-quota_price errors",
        "Required.",
    ),
    (
        "flat",
        {"charges": [{"name": "rent", "amount": "0", "per": "cycle"}]},
        {"price": "1"},
        "charges-row-0",
        "Must be more than 0.",
    ),
    (
        "flat",
        {
            "charges": [
                {"name": "rent", "amount": "1", "per": "cycle"},
                {"name": "rent", "amount": "2", "per": "cycle"},
            ]
        },
        {"price": "1"},
        "charges-row-1",
        "rent is listed twice.",
    ),
    (
        "tiered",
        blocks(("200", "0.588"), ("150", "0.638"), ("", "0.888")),
        {},
        "blocks-row-1",
        "previous block's limit, 200",
    ),
    ("tiered", blocks(("200", "-0.588"), ("", "0.638")), {}, "blocks-row-0", "Must be more than 0."),
    ("tiered", blocks(("200", "0.588"), ("400", "0.638")), {}, "blocks-row-1", "must be open-ended"),
    (
        "tiered",
        blocks(("", "0.588"), ("", "0.638")),
        {},
        "blocks-row-0",
        "Only the last block may be open-ended",
    ),
    ("tiered", blocks(("200", ""), ("", "0.638")), {}, "blocks-row-0", "Required."),
    ("tiered", blocks(("2E2", "0.588"), ("", "0.638")), {}, "blocks-row-0", "must be a plain number"),
    ("tiered", blocks(("200", "0.5880001"), ("", "0.638")), {}, "blocks-row-0", "at most 6 decimal places"),
    ("tiered", {}, {}, "table-blocks", "At least one row is required."),
    ("tou", tou(workday=OVERLAP_DAY), {}, "workday-row-1", "Overlaps the period before it: starts at 08:00"),
    ("tou", tou(workday=GAP_DAY), {}, "workday-row-1", "Leaves a gap: 08:00–09:00"),
    ("tou", tou(workday=SHORT_DAY), {}, "workday-row-1", "not covered after 23:00"),
    ("tou", tou(weekend=GAP_DAY), {}, "weekend-row-1", "Leaves a gap: 08:00–09:00"),
    ("tou", tou(holiday=OVERLAP_DAY), {}, "holiday-row-1", "Overlaps the period before it"),
    ("tou", tou(periods=NO_SHARP), {}, "workday-row-2", "Period sharp has no price"),
    (
        "tou",
        tou(periods=[*NO_SHARP, {"name": "sharp", "price": ""}]),
        {},
        "periods-row-3",
        "Required.",
    ),
    (
        "tou",
        tou(periods=[*TOU_PERIODS, {"name": "peak", "price": "1"}]),
        {},
        "periods-row-4",
        "peak is listed twice.",
    ),
    ("tou", tou(periods=[*TOU_PERIODS, {"name": "", "price": "1"}]), {}, "periods-row-4", "Required."),
    (
        "tou",
        tou(workday=[{"start": "00:00", "end": "25:00", "period": "flat"}]),
        {},
        "workday-row-0",
        "25:00 is not a time",
    ),
    (
        "tou",
        tou(workday=[{"start": "08:00", "end": "08:00", "period": "flat"}]),
        {},
        "workday-row-0",
        "The period is empty",
    ),
    ("tou", tou(workday=[]), {}, "table-workday", "At least one row is required."),
    (
        "tou",
        tou(
            periods=[{"name": "peak", "price": "1"}],
            workday=[{"start": "00:00", "end": "24:00", "period": "peak"}],
        ),
        {},
        "class=form-row field-purchase_price errors",
        "there is no flat period",
    ),
]


class TariffEditorValidationTestCase:
    @pytest.mark.parametrize(
        ("kind", "tables", "main", "where", "message"),
        CASES,
        ids=[f"{c[0]}-{c[3]}-{i}" for i, c in enumerate(CASES)],
    )
    def test_it_refuses_each_invalid_input_next_to_it_and_saves_nothing(
        self, world, login, kind, tables, main, where, message
    ):
        data = editor_data(world.a1.group, kind=kind, tables=tables, **main)
        with changes_nothing():
            response = login(world.admin).post(ADD_URL, data)
        assert response.status_code == 400
        # a row's own fields carry their errors; a fault of the whole row sits in the line below it
        found = f"{text_at(response, where)} {text_at(response, where + '-errors')}"
        assert message in found, text_at(response, "content-main")
        assert not Tariff.objects.filter(code="biz").exists()

    def test_it_previews_nothing_while_the_input_is_invalid(self, world, login):
        data = editor_data(world.a1.group, kind="tou", tables=tou(workday=GAP_DAY), _save=None, _preview="1")
        response = login(world.admin).post(ADD_URL, data)
        assert response.status_code == 400 and text_at(response, "tariff-preview") == ""

    def test_it_refuses_in_chinese(self, world, login):
        data = editor_data(world.a1.group, kind="tou", tables=tou(workday=GAP_DAY))
        with changes_nothing():
            response = login(world.admin).post(ADD_URL, data, HTTP_ACCEPT_LANGUAGE="zh-hans")
        with translation.override("zh-hans"):
            expected = translation.gettext(
                "Leaves a gap: %(expected)s–%(start)s is not covered by any period."
            ) % {
                "expected": "08:00",
                "start": "09:00",
            }
        assert expected in text_at(response, "workday-row-1-errors") and "gap" not in expected


class StoredFaultTestCase:
    def test_it_opens_a_broken_stored_version_with_the_fault_at_its_row(self, world, login):
        row = world.a1.tariff
        broken = {
            "prices": {"flat": "0.65", "valley": "0.32"},
            "schedule": [["00:00", "08:00", "valley"], ["09:00", "24:00", "flat"]],
        }
        Tariff.objects.filter(pk=row.pk).update(kind="tou", definition=broken)
        response = login(world.admin).get(change_url(row))
        assert response.status_code == 200
        assert "Leaves a gap: 08:00–09:00" in text_at(response, "workday-row-1-errors")
        assert text_at(response, "tariff-preview") == ""  # nothing to preview until it is mended

    def test_it_mends_a_broken_stored_version(self, world, login):
        row = world.a1.tariff
        Tariff.objects.filter(pk=row.pk).update(definition={"cycle": "month", "qouta": {"energy": "50"}})
        data = stored_data(Tariff.objects.get(pk=row.pk), _save="Save")
        assert login(world.admin).post(change_url(row), data).status_code == 302
        row.refresh_from_db()
        assert row.definition == {"cycle": "month"}  # the typo is gone: the editor writes what it shows

    def test_it_offers_only_period_names_in_the_period_choices(self, world, login):
        data = editor_data(
            world.a1.group,
            kind="tou",
            tables=tou(charges=[{"name": "meter rent", "amount": "5", "per": "cycle"}]),
            _save=None,
            _preview="1",
        )
        html = login(world.admin).post(ADD_URL, data).content.decode()
        assert '<option value="meter rent"' not in html and '<option value="sharp"' in html
