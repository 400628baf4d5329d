"""stored_configuration_problems re-reads every stored setting a sale depends on, as the engine
would, and lists what it would refuse; the system check shows each as a warning at start-up."""

from __future__ import annotations

import io
from decimal import Decimal

from django.core.management import call_command
from django.utils import translation

from prepay.billing.models import BillingSettings, WarningPolicy
from prepay.dbcare.configcheck import check_stored_configuration, stored_configuration_problems
from prepay.tariffs.models import Tariff
from prepay.tenancy.models import Site
from prepay.tokens.models import VendingKey
from prepay.vending.models import VendingPoint

BROKEN = {
    "cycle": "month",
    "blocks": [
        {"upto": "200", "price": "0.588"},
        {"upto": "150", "price": "0.638"},
        {"upto": None, "price": "0.7"},
    ],
}


def problems_of(obj):
    return [(p.field, p.message) for p in stored_configuration_problems() if p.obj == obj]


class ConfigurationCheckTestCase:
    def test_it_finds_nothing_wrong_in_a_sound_configuration(self, shop):
        assert stored_configuration_problems() == []
        assert check_stored_configuration() == []

    def test_it_lists_a_stored_tariff_the_engine_refuses(self, world):
        row = world.a1.tariff
        Tariff.objects.filter(pk=row.pk).update(kind="tiered", definition=BROKEN)
        [problem] = [p for p in stored_configuration_problems() if p.obj == row]
        assert problem.field == "blocks[1].upto"
        assert problem.message == "Must be above the previous block's limit, 200: blocks go up."
        assert f"tariff Residential flat (2026-01-01) #{row.pk} [blocks[1].upto]" in str(problem)

    def test_it_lists_a_typo_and_a_number_the_engine_would_not_read(self, world):
        row = world.a1.tariff
        Tariff.objects.filter(pk=row.pk).update(definition={"cycle": "month", "qouta": {}})
        assert problems_of(row) == [
            (
                "qouta",
                "Unknown setting (a typo?); allowed here: cycle, fixed_charges, kind, max_purchase, min_purchase, price, quota, rounding, schema, unit, vat_included, vat_rate.",
            )
        ]
        Tariff.objects.filter(pk=row.pk).update(definition={"min_purchase": "1E+1"})
        assert problems_of(row) == [
            ("min_purchase", "Must be a plain number such as 0.5880 (digits and at most one decimal point).")
        ]

    def test_it_lists_a_flat_price_hidden_in_the_definition(self, world):
        row = world.a1.tariff
        Tariff.objects.filter(pk=row.pk).update(definition={"price": "0.3000"})
        [(field, message)] = problems_of(row)
        assert field == "price" and "0.3000 is what sales charge, not the unit price 0.5880" in message

    def test_it_lists_an_assigned_tariff_with_no_version_in_force(self, world):
        from datetime import date

        row = world.a1.tariff
        Tariff.objects.filter(pk=row.pk).update(effective_from=date(2099, 1, 1))
        assert (
            "effective_from",
            "Tariff res-flat is assigned but no version of it is in force today.",
        ) in problems_of(row)

    def test_it_lists_billing_thresholds_that_do_not_fall(self, world):
        settings = BillingSettings.objects.create(site=world.a1.site)
        BillingSettings.objects.filter(pk=settings.pk).update(level1=Decimal("5.00"), level2=Decimal("20.00"))
        [(field, message)] = problems_of(settings)
        assert field == "level2" and "level 1 (5.00) above level 2 (20.00)" in message
        policy = WarningPolicy.objects.create(
            group=world.a1.group, customer_type=world.a1.ctype, level1=Decimal("10"), level2=Decimal("10")
        )
        assert problems_of(policy)[0][0] == "level2"

    def test_it_lists_a_vending_key_row_that_cannot_sell(self, shop):
        key = VendingKey.objects.get()
        VendingKey.objects.filter(pk=key.pk).update(supply_group_code="12345X")
        fields = [f for f, _m in problems_of(key)]
        assert "supply_group_code" in fields and "ciphertext" in fields  # the slot is in the key's AAD
        VendingKey.objects.filter(pk=key.pk).update(supply_group_code="123456", ciphertext=b"\x00" * 24)
        assert problems_of(key) == [
            ("ciphertext", "A stored vending key does not decrypt: wrong store key or altered row.")
        ]
        VendingKey.objects.filter(pk=key.pk).update(nonce=b"\x00")
        assert problems_of(key) == [
            ("nonce", "The stored key does not decrypt: it was altered or copied from another row.")
        ]

    def test_it_lists_vending_points_and_sites_with_bad_settings(self, shop):
        VendingPoint.objects.filter(pk=shop.point.pk).update(receipt_prefix="C 1/")
        assert problems_of(shop.point) == [("receipt_prefix", "Letters, digits and hyphens only.")]
        Site.objects.filter(pk=shop.world.a1.site.pk).update(confirm_sale_above=Decimal("9000000"))
        assert [f for f, _m in problems_of(shop.world.a1.site)] == ["confirm_sale_above"]

    def test_it_speaks_the_current_language(self, world):
        row = world.a1.tariff
        Tariff.objects.filter(pk=row.pk).update(kind="tiered", definition=BROKEN)
        with translation.override("zh-hans"):
            [(field, message)] = problems_of(row)
            assert message == translation.gettext(
                "Must be above the previous block's limit, %(previous)s: blocks go up."
            ) % {"previous": "200"}
        assert message != "Must be above the previous block's limit, 200: blocks go up."

    def test_it_warns_at_start_up_without_stopping_the_server(self, world):
        row = world.a1.tariff
        Tariff.objects.filter(pk=row.pk).update(kind="tiered", definition=BROKEN)
        out, err = io.StringIO(), io.StringIO()
        call_command("check", stdout=out, stderr=err)  # a warning: no SystemCheckError
        text = out.getvalue() + err.getvalue()
        assert "(prepay.W001) blocks[1].upto: Must be above the previous block's limit, 200" in text
        assert f"tariff Residential flat (2026-01-01) #{row.pk}" in text
