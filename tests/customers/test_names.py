"""Pinyin initials of customer names: computed when a name is written, filled in by the migration."""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps

from prepay.customers import actions as a
from prepay.customers.models import Customer
from prepay.customers.names import initials_of, looks_like_initials
from tests import factories as f


class InitialsOfTestCase:
    def test_it_takes_the_first_letter_of_each_characters_pinyin(self) -> None:
        assert initials_of("张三") == " zs"
        assert initials_of("王科技有限公司").split()[0] == "wkjyxgs"

    def test_it_reads_a_polyphonic_surname_every_way(self) -> None:
        assert set(initials_of("曾小明").split()) == {"zxm", "cxm"}

    def test_it_takes_latin_words_and_skips_digits_and_signs(self) -> None:
        assert initials_of("John Smith") == " js"
        assert initials_of("李 Lei-3") == " ll"
        assert initials_of("") == "" and initials_of("123 !") == ""

    def test_it_knows_what_may_be_typed_as_initials(self) -> None:
        assert looks_like_initials("zs") and looks_like_initials("ZSF")
        assert (
            not looks_like_initials("z") and not looks_like_initials("z1") and not looks_like_initials("张三")
        )


class CustomerInitialsTestCase:
    def test_it_stores_the_initials_when_a_customer_is_registered(self, world: Any) -> None:
        c = a.do_create_customer(
            site=world.a1.site, number="C-9", name="张三丰", customer_type=world.a1.ctype, actor=world.clerk
        )
        c.refresh_from_db()
        assert c.name_initials == " zsf"

    def test_it_follows_a_change_of_name(self, world: Any) -> None:
        c = f.customer(world.a1, name="张三")
        c.name = "李四"
        c.save(update_fields=["name"])
        c.refresh_from_db()
        assert c.name_initials == " ls"

    def test_the_migration_fills_the_initials_of_existing_customers(self, world: Any) -> None:
        c = f.customer(world.a1, name="李四")
        Customer.objects.filter(pk=c.pk).update(name_initials="")
        migration = importlib.import_module("prepay.customers.migrations.0003_customer_name_initials")
        migration.fill_initials(apps, None)
        c.refresh_from_db()
        assert c.name_initials == " ls"
