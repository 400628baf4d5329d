"""Rows read as one JSON array inside another query (``prepay.common.jsonrows``) come back as the
ORM reads the same rows: scaled decimals, dates, booleans, nulls and nested JSON included."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import BooleanField, CharField, ExpressionWrapper, F, Q, Value

from prepay.common.jsonrows import rows_from_json, rows_subquery
from prepay.tariffs.models import Tariff
from prepay.tenancy.models import PropertyGroup
from prepay.vending.models import Vend

TIERS = {"cycle": "month", "blocks": [{"upto": "180", "price": "0.5880"}, {"upto": None, "price": "0.6380"}]}


def as_orm(rows):
    return sorted(
        ({f.attname: getattr(r, f.attname) for f in Tariff._meta.concrete_fields} for r in rows), key=str
    )


def read(rows, *marks):
    """``rows`` through rows_subquery, read by a query on another table (the group)."""
    data = (
        PropertyGroup.objects.annotate(got=rows_subquery(rows, *marks))
        .values_list("got", flat=True)[:1]
        .get()
    )
    return rows_from_json(Tariff, data, *marks)


@pytest.mark.django_db
class JSONRowsTestCase:
    def test_the_rows_read_as_the_orm_reads_them(self, world):
        g = world.a1.group
        Tariff.objects.create(
            group=g,
            code="t1",
            name="Tiered, 阶梯",
            kind="tiered",
            unit_price=Decimal("0.5880"),
            vat_rate=Decimal("0.1300"),
            vat_included=False,
            definition=TIERS,
            effective_from=date(2026, 2, 1),
        )
        Tariff.objects.create(
            group=g,
            site=world.a1.site,
            code="t1",
            name='quote " and \\ slash',
            unit_price=Decimal("1.0001"),
            effective_from=date(2024, 12, 31),
            definition={},
        )
        rows = Tariff.objects.filter(group=g, code="t1")
        got = read(rows)
        assert len(got) == 2 and as_orm(got) == as_orm(rows)
        assert all(isinstance(r.unit_price, Decimal) and isinstance(r.effective_from, date) for r in got)
        assert {r.vat_included for r in got} == {True, False} and {r.site_id for r in got} == {
            None,
            world.a1.site.pk,
        }
        assert not got[0]._state.adding and got[0]._state.db == "default"

    def test_marks_come_with_each_row_and_no_rows_is_an_empty_list(self, world):
        # constants, which PostgreSQL binding on the server cannot type inside the JSON unless cast
        rows = Tariff.objects.filter(pk=world.a1.tariff.pk).annotate(seen=Value("yes"), n=Value(7))
        (one,) = read(rows, "seen", "n")
        assert one.seen == "yes" and one.n == 7 and one.pk == world.a1.tariff.pk
        assert read(Tariff.objects.filter(code="no-such-code")) == []

    def test_a_parameter_inside_another_expression_is_typed_too(self, world):
        # not a Value at the top, still a bare parameter in the SQL; and a comparison, as the sale uses
        rows = Tariff.objects.filter(pk=world.a1.tariff.pk).annotate(
            label=ExpressionWrapper(Value("盐田"), output_field=CharField()),
            own=ExpressionWrapper(Q(group_id=F("group_id")), output_field=BooleanField()),
        )
        (one,) = read(rows, "label", "own")
        assert one.label == "盐田" and bool(one.own) is True

    def test_a_mark_it_cannot_type_or_find_is_refused(self, world):
        rows = Tariff.objects.annotate(nothing=Value(None))
        with pytest.raises(TypeError, match="'nothing' has no type"):
            rows_subquery(rows, "nothing")
        with pytest.raises(TypeError, match="'missing' is not an annotation of the Tariff rows"):
            rows_subquery(Tariff.objects.all(), "missing")

    def test_a_model_with_a_column_it_cannot_read_back_is_refused(self, world):
        with pytest.raises(TypeError, match="created_at"):
            rows_subquery(Vend.objects.all())
        with pytest.raises(TypeError, match="created_at"):
            rows_from_json(Vend, [])
