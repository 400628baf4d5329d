"""Units as residents say them, and the account search built on it (prepay.customers.search)."""

from __future__ import annotations

from typing import Any

import pytest

from prepay.customers.models import Account, Building, Unit
from prepay.customers.search import UnitKey, account_search_q, building_names, parse_unit, units_for
from tests import factories as f


class ParseUnitTestCase:
    @pytest.mark.parametrize(
        ("typed", "key"),
        [
            ("1号楼 101", UnitKey("1", "", "101")),
            ("1号楼101室", UnitKey("1", "", "101")),
            ("1-101", UnitKey("1", "", "101")),
            ("1#101", UnitKey("1", "", "101")),
            ("Block 1 101", UnitKey("1", "", "101")),
            ("block 1, room 101", UnitKey("1", "", "101")),
            ("1栋101", UnitKey("1", "", "101")),
            ("1幢1单元101", UnitKey("1", "1", "101")),
            ("2 号楼 1 单元 301", UnitKey("2", "1", "301")),
            ("1-1-101", UnitKey("1", "1", "101")),
            ("１号楼　１０１", UnitKey("1", "", "101")),
            ("S 108", UnitKey("s", "", "108")),
            ("A座602", UnitKey("a", "", "602")),
            ("s108", UnitKey("s", "", "108")),
        ],
    )
    def test_it_reads_a_unit_the_way_residents_say_it(self, typed: str, key: UnitKey) -> None:
        assert parse_unit(typed) == key

    @pytest.mark.parametrize(
        "typed", ["张三", "RIVERSIDE-000012", "DDS0000012", "13800138000", "101", "zs", ""]
    )
    def test_it_leaves_what_is_not_a_unit(self, typed: str) -> None:
        assert parse_unit(typed) is None

    def test_it_knows_a_building_by_its_code_and_the_words_of_its_name(self) -> None:
        assert {"1", "1号楼"} & building_names("1", "1号楼 Block 1") == {"1"}
        assert "1" in building_names("B1", "Block 1") and "a" in building_names("A", "A座 Office A")

    def test_it_looks_for_the_entrance_where_the_unit_numbers_have_one(self) -> None:
        assert UnitKey("1", "2", "101").numbers() == ["2-101", "2单元101", "101"]


def home(world: Any, code: str, name: str, number: str) -> Unit:
    b = Building.objects.get_or_create(site=world.a1.site, code=code, defaults={"name": name})[0]
    return Unit.objects.create(building=b, number=number)


class AccountSearchTestCase:
    def test_it_finds_an_account_by_its_unit_in_every_way_residents_say_it(self, world: Any) -> None:
        unit = home(world, "1", "1号楼 Block 1", "101")
        acc = f.account(world.a1, unit=unit)
        f.account(world.a1, unit=home(world, "2", "2号楼 Block 2", "101"))
        for typed in ("1号楼 101", "1-101", "Block 1 101", "1栋101", "1号楼101室", "１－１０１"):
            found = Account.objects.filter(account_search_q(world.clerk, typed)).distinct()
            assert list(found) == [acc], typed

    def test_it_finds_the_entrance_where_the_data_has_it(self, world: Any) -> None:
        acc = f.account(world.a1, unit=home(world, "1", "1幢", "1-101"))
        f.account(world.a1, unit=home(world, "1", "1幢", "2-101"))
        found = Account.objects.filter(account_search_q(world.clerk, "1幢1单元101")).distinct()
        assert list(found) == [acc]

    def test_it_finds_nothing_in_a_building_of_another_site(self, world: Any) -> None:
        b = Building.objects.create(site=world.a2.site, code="7", name="7号楼")
        f.account(world.a2, unit=Unit.objects.create(building=b, number="101"))
        assert not Account.objects.filter(account_search_q(world.clerk, "7-101")).exists()

    def test_it_lists_units_by_the_start_of_their_number_within_a_site(self, world: Any) -> None:
        found = units_for(world.clerk, "10", site=world.a1.site)
        assert [u.number for u in found] == ["101", "102"]
        assert units_for(world.clerk_b, "10", site=world.a1.site) == []
