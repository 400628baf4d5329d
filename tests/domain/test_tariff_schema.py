"""Every bad tariff dict raises TariffError naming the field, with a useful message."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from prepay.domain.tariffs import Tariff, TariffError

BLOCKS = [{"upto": "200", "price": "0.5880"}, {"upto": None, "price": "0.6380"}]
DAY = [["00:00", "08:00", "valley"], ["08:00", "24:00", "flat"]]
PRICES = {"flat": "0.6500", "valley": "0.3200"}


def flat(**kw: Any) -> dict[str, Any]:
    return {"kind": "flat", "price": "0.5", **kw}


def tiered(**kw: Any) -> dict[str, Any]:
    return {"kind": "tiered", "cycle": "month", "blocks": BLOCKS, **kw}


def tou(**kw: Any) -> dict[str, Any]:
    return {"kind": "tou", "prices": PRICES, "schedule": DAY, **kw}


def season(**kw: Any) -> dict[str, Any]:
    return {"name": "summer", "from": "06-01", "to": "09-30", "schedule": DAY, **kw}


BAD: list[tuple[Any, str, str]] = [
    ([], "", "must be an object"),
    ({**flat(), "schema": 2}, "schema", "unsupported schema version"),
    ({}, "kind", "required"),
    ({"kind": "gas"}, "kind", "not one of flat, tiered, tou"),
    ({"kind": "flat"}, "price", "required for a flat tariff"),
    (flat(price=0.5), "price", 'write it as a string, e.g. "0.5"'),
    (flat(price="abc"), "price", "is not a number"),
    (flat(price=None), "price", "a number is required"),
    (flat(price="0"), "price", "greater than 0"),
    (flat(price="-1"), "price", "greater than 0"),
    (flat(price="0.1234567"), "price", "more than 6 decimal places"),
    (flat(unit="gallon"), "unit", "not one of kWh, m3"),
    (flat(colour="red"), "colour", "unknown key"),
    (flat(blocks=BLOCKS), "blocks", "unknown key"),
    ({"kind": "tiered", "blocks": BLOCKS}, "cycle", "required for a tiered tariff"),
    (tiered(cycle="week"), "cycle", "not one of month, year"),
    ({"kind": "tiered", "cycle": "month"}, "blocks", "required"),
    (tiered(blocks=[]), "blocks", "must not be empty"),
    (tiered(blocks="200"), "blocks", "must be a list"),
    (tiered(blocks=["200"]), "blocks[0]", "must be an object"),
    (tiered(blocks=[{"price": "1"}]), "blocks[0].upto", "required"),
    (
        tiered(blocks=[{"upto": None, "price": "1"}, {"upto": None, "price": "2"}]),
        "blocks[0].upto",
        "only the last",
    ),
    (tiered(blocks=[{"upto": "200", "price": "1"}]), "blocks[0].upto", "must be unbounded"),
    (
        tiered(
            blocks=[
                {"upto": "200", "price": "1"},
                {"upto": "150", "price": "2"},
                {"upto": None, "price": "3"},
            ]
        ),
        "blocks[1].upto",
        "greater than 200",
    ),
    (
        tiered(blocks=[{"upto": "0", "price": "1"}, {"upto": None, "price": "2"}]),
        "blocks[0].upto",
        "greater than 0",
    ),
    (tiered(blocks=[{"upto": "200"}, {"upto": None, "price": "2"}]), "blocks[0].price", "required"),
    (tiered(blocks=[{"upto": None, "price": "2", "label": ""}]), "blocks[0].label", "non-empty"),
    (tiered(blocks=[{"upto": None, "price": "2", "from": "0"}]), "blocks[0].from", "unknown key"),
    ({"kind": "tou", "schedule": DAY}, "prices", "required"),
    (tou(prices={}), "prices", "at least one period"),
    (tou(prices={"Peak!": "1"}), "prices.Peak!", "lower-case"),
    (tou(schedule=[["00:00", "08:00", "valley"], ["09:00", "24:00", "flat"]]), "schedule[1]", "leaves a gap"),
    (tou(schedule=[["00:00", "09:00", "valley"], ["08:00", "24:00", "flat"]]), "schedule[1]", "overlaps"),
    (
        tou(schedule=[["00:00", "08:00", "valley"], ["08:00", "23:00", "flat"]]),
        "schedule[1]",
        "not covered after 23:00",
    ),
    # the row named is the one the fault starts at, in the order the rows were written
    (
        tou(schedule=[["08:00", "24:00", "flat"], ["01:00", "08:00", "valley"]]),
        "schedule[1]",
        "expected 00:00",
    ),
    (
        tou(schedule=[["08:00", "22:00", "flat"], ["22:00", "07:00", "valley"]]),
        "schedule[0]",
        "starting at 08:00 leaves a gap (expected 07:00)",
    ),
    (
        {
            "kind": "tou",
            "prices": PRICES,
            "schedules": {
                "workday": DAY,
                "weekend": [["00:00", "12:00", "valley"], ["11:00", "24:00", "flat"]],
            },
        },
        "schedules.weekend[1]",
        "overlaps",
    ),
    (flat(price="1E+2"), "price", "not a number"),
    (flat(price="1_000"), "price", "not a number"),
    (flat(price="NaN"), "price", "not a number"),
    (flat(price="Infinity"), "price", "not a number"),
    (flat(price="1,000"), "price", "not a number"),
    (flat(price="1" * 13), "price", "too large"),
    (
        tiered(blocks=[{"upto": "2e2", "price": "1"}, {"upto": None, "price": "2"}]),
        "blocks[0].upto",
        "not a number",
    ),
    (
        tou(schedule=[["00:00", "08:00", "peek"], ["08:00", "24:00", "flat"]]),
        "schedule[0][2]",
        "has no price",
    ),
    (tou(schedule=[["00:00", "25:00", "valley"]]), "schedule[0][1]", "not a time of day"),
    (tou(schedule=[["24:00", "08:00", "valley"]]), "schedule[0][0]", "24:00 only as an end"),
    (tou(schedule=[["8:00", "24:00", "valley"]]), "schedule[0][0]", "not a time HH:MM"),
    (tou(schedule=[["00:00", "24:00"]]), "schedule[0]", "expected"),
    (tou(schedule=[["08:00", "08:00", "flat"]]), "schedule[0]", "empty"),
    (tou(schedules={"workday": DAY}), "schedules", "not both"),
    ({"kind": "tou", "prices": PRICES, "schedules": {"weekend": DAY}}, "schedules.workday", "required"),
    (
        {"kind": "tou", "prices": PRICES, "schedules": {"workday": DAY, "sunday": DAY}},
        "schedules.sunday",
        "unknown",
    ),
    (
        {"kind": "tou", "prices": {"valley": "0.3"}, "schedule": [["00:00", "24:00", "valley"]]},
        "price",
        "no 'flat'",
    ),
    (
        tou(seasons=[season(), season(name="x", **{"from": "09-01", "to": "10-31"})]),
        "seasons[1]",
        "overlaps season 'summer' on 09-01",
    ),
    (tou(seasons=[season(**{"from": "13-01"})]), "seasons[0].from", "not a date"),
    (tou(seasons=[season(to="0930")]), "seasons[0].to", "not a month-day"),
    (tou(seasons=[{"name": "s", "from": "06-01", "to": "09-30"}]), "seasons[0].schedule", "required"),
    (tou(seasons=[season(name="")]), "seasons[0].name", "non-empty"),
    ({"kind": "tou", "prices": PRICES, "seasons": [season()]}, "schedule", "do not cover every day"),
    (flat(vat_rate="13"), "vat_rate", "a fraction below 1"),
    (flat(vat_rate="-0.1"), "vat_rate", "at least 0"),
    (flat(vat_rate="0.12345"), "vat_rate", "more than 4 decimal places"),
    (flat(vat_included="yes"), "vat_included", "true or false"),
    (flat(fixed_charges={}), "fixed_charges", "must be a list"),
    (flat(fixed_charges=[{"amount": "1", "per": "cycle"}]), "fixed_charges[0].name", "non-empty"),
    (
        flat(
            fixed_charges=[
                {"name": "a", "amount": "1", "per": "cycle"},
                {"name": "a", "amount": "1", "per": "cycle"},
            ]
        ),
        "fixed_charges[1].name",
        "listed twice",
    ),
    (
        flat(fixed_charges=[{"name": "a", "amount": "0", "per": "cycle"}]),
        "fixed_charges[0].amount",
        "greater than 0",
    ),
    (
        flat(fixed_charges=[{"name": "a", "amount": "1.234", "per": "cycle"}]),
        "fixed_charges[0].amount",
        "2 decimal",
    ),
    (
        flat(fixed_charges=[{"name": "a", "amount": "1", "per": "day"}]),
        "fixed_charges[0].per",
        "purchase, cycle",
    ),
    (flat(min_purchase="0"), "min_purchase", "greater than 0"),
    (flat(min_purchase="100", max_purchase="50"), "max_purchase", "below the minimum purchase 100"),
    (flat(rounding={"money": "banker"}), "rounding.money", "not a rounding mode"),
    (flat(rounding={"cents": "ROUND_UP"}), "rounding.cents", "unknown key"),
    (flat(quota={"energy": "0", "price": "0.4"}), "quota.energy", "greater than 0"),
    (flat(quota={"energy": "50", "price": "-1"}), "quota.price", "at least 0"),
    (flat(quota=50), "quota", "must be an object"),
    (flat(quota={"energy": "50", "price": "0.4", "cycle": "month"}), "quota.cycle", "unknown key"),
]


class TariffSchemaTestCase:
    @pytest.mark.parametrize(
        ("data", "field", "fragment"), BAD, ids=[f"{i}-{b[1] or 'root'}" for i, b in enumerate(BAD)]
    )
    def test_it_refuses_a_bad_field(self, data: Any, field: str, fragment: str):
        with pytest.raises(TariffError) as err:
            Tariff.from_dict(data)
        assert err.value.field == field, str(err.value)
        assert fragment in err.value.message, str(err.value)

    def test_it_accepts_the_rich_forms(self):
        t = Tariff.from_dict(
            tou(
                schema=1,
                unit="kWh",
                price="0.7000",
                seasons=[
                    season(
                        prices={"sharp": "1.40"},
                        schedule=[["00:00", "12:00", "valley"], ["12:00", "24:00", "sharp"]],
                    )
                ],
                vat_rate="0.13",
                vat_included=False,
                fixed_charges=[{"name": "service", "amount": "1.00", "per": "purchase"}],
                min_purchase="10",
                max_purchase="5000",
                rounding={"money": "half_even", "energy": "ROUND_DOWN"},
                quota={"energy": "50", "price": "0", "label": "basic"},
            )
        )
        assert t.price is not None and str(t.price) == "0.7000"
        assert t.money_rounding == "ROUND_HALF_EVEN" and t.energy_rounding == "ROUND_DOWN"
        assert Tariff.from_dict(t.to_dict()) == t

    def test_it_refuses_a_bad_definition_record(self):
        with pytest.raises(TariffError) as err:
            Tariff.from_record(kind="flat", unit_price="0.5", definition=[])  # type: ignore[arg-type]
        assert err.value.field == "definition"


class DocumentedExamplesTestCase:
    def test_it_parses_every_json_example_in_the_docs(self):
        text = (Path(__file__).parents[2] / "docs" / "tariffs.md").read_text(encoding="utf-8")
        examples = re.findall(r"```json\n(.*?)```", text, flags=re.S)
        assert len(examples) == 4
        kinds = [Tariff.from_dict(json.loads(e)).kind.value for e in examples]
        assert kinds == ["flat", "tiered", "tou", "tiered"]


class TariffErrorCodeTestCase:
    @pytest.mark.parametrize(("data", "field", "fragment"), BAD, ids=[f"{i}" for i in range(len(BAD))])
    def test_it_names_the_rule_broken_for_every_refusal(self, data: Any, field: str, fragment: str):
        # a form translates the refusal from its code and params; "invalid" would leave it English-only
        with pytest.raises(TariffError) as err:
            Tariff.from_dict(data)
        assert err.value.code != "invalid", str(err.value)
        assert isinstance(err.value.params, dict)
