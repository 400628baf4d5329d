"""do_vend: money in, credit out — ledger, journal, receipt, token/card/remote/balance, audit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from prepay.audit.models import AuditEvent, AuditHead
from prepay.customers.choices import AccountMode, AccountStatus
from prepay.customers.models import Account
from prepay.dbcare import services
from prepay.domain.cards import CardError
from prepay.domain.tokens.sts.meter import MeterDecoder
from prepay.meters.choices import MeterStatus
from prepay.meters.models import Meter
from prepay.tariffs.models import Tariff
from prepay.telemetry.models import CommandKind, MeterCommand
from prepay.tokens.models import IssuedToken
from prepay.vending import ledger
from prepay.vending.actions import do_topup_float, do_vend, find_accounts, quote_vend
from prepay.vending.cards import verify_card_image
from prepay.vending.crediting import split_units
from prepay.vending.models import Delivery, EntryKind, JournalLine, Receipt, Vend
from prepay.vending.signals import account_credited
from tests import factories as f
from tests.helpers import refused
from tests.vending.conftest import CTSA01_DK

_keys = iter(range(1, 10**6))


def sell(shop, account=None, actor=None, **kw):
    kw.setdefault("idempotency_key", f"k-{next(_keys)}")
    if "energy" not in kw:
        kw.setdefault("amount", "50.00")
    return do_vend(
        account=account or shop.account,
        actor=actor or shop.world.cashier,
        point=kw.pop("point", shop.point),
        **kw,
    )


def decoder() -> MeterDecoder:
    return MeterDecoder(decoder_key=int(CTSA01_DK, 16), base_date=2014)


class VendByMoneyTestCase:
    def test_it_sells_a_token_that_the_meter_loads_and_books_everything(self, shop):
        vend = sell(shop, amount="50.00")
        # 50.00 at 0.5880: 85.042 kWh is the largest 0.001 step whose price rounds to ≤ 50.00
        # (85.042 × 0.588 = 50.0047 → 50.00; 85.043 → 50.01)
        assert vend.amount == Decimal("50.00") and vend.delivery == Delivery.TOKEN
        assert vend.energy == Decimal("85.042")
        assert vend.register_units == Decimal("85.1")  # rounded up to the token's 0.1 unit
        tokens = list(vend.tokens.all())
        assert len(tokens) == 1 and len(tokens[0].token) == 20
        d = decoder()
        assert d.enter(tokens[0].token).accepted and d.credit(0) == Decimal("85.1") == tokens[0].amount
        assert not d.enter(tokens[0].token).accepted  # a token loads once
        entries = list(shop.account.ledger.order_by("seq").values_list("kind", "amount", "balance_after"))
        assert entries == [
            (EntryKind.PAYMENT, Decimal("50.00"), Decimal("50.00")),
            (EntryKind.VEND, Decimal("-50.00"), Decimal("0.00")),
        ]
        books = {}
        for line in JournalLine.objects.filter(site=shop.world.a1.site):
            books[line.book] = books.get(line.book, Decimal(0)) + line.amount
        assert books == {
            "customer": Decimal("0.00"),
            "cash": Decimal("50.00"),
            "revenue:energy": Decimal("-50.00"),
        }
        receipt = Receipt.objects.get(vend=vend)
        first = f"C1.{shop.point.pk}-000001"  # no prefix set: the point's code and id
        assert receipt.code == first == vend.receipt_no
        event = AuditEvent.objects.filter(verb="vend.sell").get()
        assert event.after["receipt"] == first and event.after["amount"] == "50.00"
        # the sale's events are chained together, after everything else it wrote
        token_event = AuditEvent.objects.get(verb="token.credit")
        assert token_event.chain == event.chain == shop.account.site_id  # the site's own chain
        assert token_event.seq + 1 == event.seq == AuditHead.objects.get(id=event.chain).seq
        assert token_event.after["token_id"] == tokens[0].pk
        assert services.check() == []

    def test_it_books_vat_on_its_own_book(self, shop):
        Tariff.objects.filter(pk=shop.world.a1.tariff.pk).update(vat_rate=Decimal("0.13"))
        vend = sell(shop, amount="113.00")
        assert Decimal(vend.breakdown["vat_amount"]) == Decimal("13.00")
        lines = JournalLine.objects.filter(entry__kind=EntryKind.VEND)
        assert {x.book: x.amount for x in lines} == {
            "customer": Decimal("113.00"),
            "revenue:energy": Decimal("-100.00"),
            "tax:vat": Decimal("-13.00"),
        }

    def test_it_loads_register_units_behind_a_ct_of_50(self, shop):
        account = shop.sts_account({"ct_ratio": 50})
        vend = sell(shop, account=account, energy="101")
        assert vend.energy == Decimal("101.000") and vend.multiplier == 50
        assert vend.register_units == Decimal("2.1")  # 101 / 50 = 2.02 → 2.1, in the customer's favour
        d = decoder()
        assert d.enter(vend.tokens.get().token).accepted and d.credit(0) == Decimal("2.1")

    def test_it_sells_by_energy_at_the_quoted_price(self, shop):
        vend = sell(shop, energy="100")
        assert vend.amount == Decimal("58.80") and vend.energy == Decimal("100.000")
        assert ledger.balance_of(shop.account) == Decimal("0.00")

    def test_it_keeps_a_sub_step_remainder_on_the_balance(self, shop):
        vend = sell(shop, amount="10.01")
        spent = Decimal(vend.breakdown["total"])
        assert spent <= Decimal("10.01")
        assert ledger.balance_of(shop.account) == Decimal("10.01") - spent

    def test_it_crosses_a_tier_boundary_inside_one_purchase_and_remembers_the_position(self, shop):
        g = shop.world.a1.group
        tiered = Tariff.objects.create(
            group=g,
            code="tiers",
            name="Tiered",
            kind="tiered",
            unit_price=Decimal("0.5880"),
            effective_from=date(2026, 1, 1),
            definition={
                "cycle": "month",
                "blocks": [{"upto": "100", "price": "0.5"}, {"upto": None, "price": "1.0"}],
            },
        )
        Account.objects.filter(pk=shop.account.pk).update(tariff=tiered)
        shop.account.refresh_from_db()
        first = sell(shop, energy="80")
        assert first.amount == Decimal("40.00")
        second = sell(shop, energy="40")  # 20 kWh left in block 1, 20 in block 2
        assert [(x["key"], x["energy"]) for x in second.breakdown["lines"]] == [
            ("tier:1", "20.000"),
            ("tier:2", "20.000"),
        ]
        assert second.amount == Decimal("30.00")

    def test_the_tier_position_counts_purchases_by_the_sites_local_day(self, shop):
        """A month's tiers count purchases from local midnight (Asia/Shanghai, UTC+8): a sale at
        00:10 on the 1st (16:10 UTC the day before) is in the new month, one at 23:50 on the 30th
        is not."""
        from datetime import datetime
        from zoneinfo import ZoneInfo

        from prepay.tariffs.engine import tariff_for
        from prepay.vending.tiers import cycle_position

        local = ZoneInfo("Asia/Shanghai")
        last_of_november = sell(shop, energy="30")
        first_of_december = sell(shop, energy="12")
        Vend.objects.filter(pk=last_of_november.pk).update(
            created_at=datetime(2026, 11, 30, 23, 50, tzinfo=local)
        )
        Vend.objects.filter(pk=first_of_december.pk).update(
            created_at=datetime(2026, 12, 1, 0, 10, tzinfo=local)
        )
        _row, tariff = tariff_for(shop.account, date(2026, 12, 5))
        assert tariff.cycle == "month"
        used, _quota, sold = cycle_position(
            shop.account, tariff, date(2026, 12, 5), since=datetime(2026, 12, 1, tzinfo=local)
        )
        assert used == Decimal("12.000") and sold == first_of_december.amount
        # the day's money is only known from a day start within the cycle
        assert (
            cycle_position(
                shop.account, tariff, date(2026, 12, 5), since=datetime(2026, 11, 30, tzinfo=local)
            )[2]
            is None
        )

    def test_it_splits_a_purchase_that_no_single_token_can_carry(self, shop):
        assert split_units(Decimal("4000000.0")) == [
            Decimal("1820162.4"),
            Decimal("1820162.4"),
            Decimal("359675.2"),
        ]
        Tariff.objects.filter(pk=shop.world.a1.tariff.pk).update(unit_price=Decimal("0.0100"))
        vend = sell(shop, energy="2000000")
        amounts = sorted(t.amount for t in vend.tokens.all())
        # the second token asks for 179837.6; large STS amounts have a coarser resolution and the
        # engine rounds up, in the customer's favour
        assert (
            amounts[1] == Decimal("1820162.4")
            and Decimal("179837.6") <= amounts[0] < Decimal("179837.6") + 10
        )
        d = decoder()
        assert all(d.enter(t.token).accepted for t in vend.tokens.order_by("tid"))
        assert d.credit(0) == sum(amounts) >= Decimal("2000000.0")

    def test_a_split_purchase_after_an_earlier_sale_takes_the_next_tids_in_turn(self, shop):
        # the token state then comes with the locked meter (one read for all the sale's tokens)
        first = sell(shop, amount="10.00").tokens.get()
        Tariff.objects.filter(pk=shop.world.a1.tariff.pk).update(unit_price=Decimal("0.0100"))
        tids = sorted(sell(shop, energy="2000000").tokens.values_list("tid", flat=True))
        assert len(tids) == 2 and first.tid < tids[0] < tids[1]
        d = decoder()
        assert all(
            d.enter(t).accepted for t in IssuedToken.objects.order_by("tid").values_list("token", flat=True)
        )


class ArrearsTestCase:
    def _arrears(self, account, amount):
        with transaction.atomic():
            ledger.post(
                Account.objects.select_for_update().get(pk=account.pk),
                EntryKind.FEE,
                -Decimal(amount),
                actor=None,
            )

    def test_it_settles_arrears_before_buying_energy(self, shop):
        self._arrears(shop.account, "20.00")
        vend = sell(shop, amount="50.00")
        assert vend.arrears_recovered == Decimal("20.00") and vend.credit_amount == Decimal("30.00")
        assert Decimal(vend.breakdown["total"]) <= Decimal("30.00")
        assert ledger.balance_of(shop.account) >= 0

    def test_it_recovers_only_the_sites_share_per_purchase(self, shop):
        site = shop.world.a1.site
        site.arrears_recovery_percent = 30
        site.save()
        shop.account.refresh_from_db()
        self._arrears(shop.account, "100.00")
        vend = sell(shop, amount="50.00")
        assert vend.arrears_recovered == Decimal("15.00") and vend.credit_amount == Decimal("35.00")
        by_energy = sell(shop, energy="10")  # 5.88 for energy; 30% of the payment: 2.52 on top
        assert by_energy.arrears_recovered == Decimal("2.52") and by_energy.amount == Decimal("8.40")

    def test_it_refuses_a_payment_that_only_covers_arrears(self, shop):
        self._arrears(shop.account, "80.00")
        refused("all_to_arrears", sell, shop=shop, amount="50.00")


class IdempotencyTestCase:
    def test_a_retry_returns_the_first_vend_and_moves_no_money(self, shop):
        first = sell(shop, idempotency_key="pos-1-0001", amount="50.00")
        again = sell(
            shop, idempotency_key="pos-1-0001", amount=Decimal("50")
        )  # the same amount, written otherwise
        assert again.pk == first.pk and again.replayed and not first.replayed
        assert Vend.objects.count() == 1 and shop.account.ledger.count() == 2
        assert AuditEvent.objects.filter(verb="vend.sell").count() == 1
        assert Receipt.objects.count() == 1 and first.tokens.count() == 1

    def test_a_retry_by_someone_who_may_not_sell_there_gets_nothing(self, shop):
        sell(shop, idempotency_key="pos-1-0003")
        refused("forbidden", sell, shop=shop, idempotency_key="pos-1-0003", actor=shop.world.clerk_b)

    def test_the_same_key_for_another_request_is_refused(self, shop):
        sell(shop, idempotency_key="pos-1-0002", amount="50.00")
        refused("idempotency_conflict", sell, shop=shop, idempotency_key="pos-1-0002", amount="60.00")

    def test_receipt_numbers_are_gap_free_per_point(self, shop):
        codes = [sell(shop).receipt_no for _ in range(3)]
        assert codes == [f"C1.{shop.point.pk}-00000{n}" for n in (1, 2, 3)]
        shop.point.receipt_prefix = "RG"
        shop.point.save()
        assert sell(shop).receipt_no == "RG-000004"

    def test_receipt_codes_never_repeat_across_sites_and_prefixes_are_unique(self, shop):
        from django.db import IntegrityError, transaction

        from prepay.vending.models import VendingPoint

        other = VendingPoint.objects.create(site=shop.world.a2.site, code="c1", name="Counter 1 at A2")
        from prepay.vending.actions import receipt_code

        assert receipt_code(other, 1) != receipt_code(shop.point, 1)
        shop.point.receipt_prefix = "RG"
        shop.point.save()
        other.receipt_prefix = "RG"
        with pytest.raises(IntegrityError), transaction.atomic():
            other.save()


class DeliveryTestCase:
    def test_a_card_meter_gets_a_sealed_image_that_loads_once(self, shop):
        account = shop.card_account()
        meter, model = account.installations.get().meter, shop.card_model()
        v1, v2 = sell(shop, account=account, amount="10.00"), sell(shop, account=account, amount="20.00")
        assert v1.delivery == v2.delivery == Delivery.CARD
        assert (v1.card.sequence, v2.card.sequence) == (1, 2)
        credit = verify_card_image(meter, bytes.fromhex(v1.card.image), last_sequence=0)
        assert credit.units == v1.register_units
        with pytest.raises(CardError) as info:
            verify_card_image(meter, bytes.fromhex(v1.card.image), last_sequence=1)
        assert info.value.code == "already_loaded"
        other = f.meter(shop.world.a1, model)
        with pytest.raises(CardError) as info:
            verify_card_image(other, bytes.fromhex(v1.card.image), last_sequence=0)
        assert info.value.code == "wrong_meter"
        tampered = bytearray.fromhex(v2.card.image)
        tampered[-12] ^= 1  # a units byte
        with pytest.raises(CardError) as info:
            verify_card_image(meter, bytes(tampered), last_sequence=1)
        assert info.value.code == "bad_mac"

    def test_a_networked_meter_without_keypad_gets_a_queued_credit_command(self, shop):
        account = shop.networked_account()
        meter = account.installations.get().meter
        vend = sell(shop, account=account, amount="10.00")
        cmd = MeterCommand.objects.get(meter=meter)
        assert vend.delivery == Delivery.REMOTE and cmd.kind == CommandKind.CREDIT
        assert Decimal(cmd.params["amount"]) == vend.register_units and cmd.requested_by == shop.world.cashier
        assert cmd.idempotency_key == f"vend:{vend.pk}"

    def test_a_remote_control_account_is_credited_and_the_signal_fires(self, shop):
        account = shop.sts_account(mode=AccountMode.REMOTE)
        seen = []

        def listener(sender, account, entry, **kw):
            seen.append((account.pk, entry.amount))

        account_credited.connect(listener)
        try:
            vend = sell(shop, account=account, amount="30.00")
        finally:
            account_credited.disconnect(listener)
        assert vend.delivery == Delivery.BALANCE and vend.tokens.count() == 0 and vend.energy is None
        assert ledger.balance_of(account) == Decimal("30.00")
        assert seen == [(account.pk, Decimal("30.00"))]
        refused("energy_not_for_balance", sell, shop=shop, account=account, energy="10")


class AgentTestCase:
    def test_an_agent_sells_from_its_float_and_stops_at_the_credit_limit(self, shop):
        agent = shop.agent
        agent.credit_limit = Decimal("20.00")
        agent.save()
        do_topup_float(point=agent, amount="100.00", actor=shop.world.finance, idempotency_key="float-1")
        sell(shop, point=agent, amount="100.00")
        sell(shop, point=agent, amount="20.00")  # float now −20.00: exactly the limit
        refused("agent_over_limit", sell, shop=shop, point=agent, amount="0.01")
        assert agent.float_entries.order_by("-seq").first().balance_after == Decimal("-20.00")
        assert services.check() == []


class RefusalTestCase:
    def test_a_closed_account(self, shop):
        Account.objects.filter(pk=shop.account.pk).update(status=AccountStatus.CLOSED)
        shop.account.refresh_from_db()
        refused("account_closed", sell, shop=shop)

    def test_a_faulty_meter(self, shop):
        Meter.objects.filter(pk=shop.meter.pk).update(status=MeterStatus.FAULTY)
        refused("meter_unusable", sell, shop=shop)

    def test_an_amount_below_the_minimum(self, shop):
        Tariff.objects.filter(pk=shop.world.a1.tariff.pk).update(definition={"min_purchase": "10.00"})
        err = refused("below_minimum", sell, shop=shop, amount="9.99")
        assert "minimum" in str(err.message)

    def test_no_amount_or_both(self, shop):
        refused(
            "amount_or_energy",
            do_vend,
            account=shop.account,
            actor=shop.world.cashier,
            point=shop.point,
            idempotency_key="x1",
            amount="1",
            energy="1",
        )
        refused("invalid_amount", sell, shop=shop, amount="-5")
        refused("invalid_amount", sell, shop=shop, amount="abc")
        # rounds to 0.00 at the cent: nothing to sell, refused before anything is priced
        refused("invalid_amount", sell, shop=shop, amount="0.004")
        # more digits than any till holds: a clear refusal, not a server error
        refused("invalid_amount", sell, shop=shop, amount="1e40")
        refused("invalid_amount", sell, shop=shop, energy="NaN", amount=None)

    def test_a_transfer_without_reference(self, shop):
        refused("reference_required", sell, shop=shop, method="transfer")

    def test_no_idempotency_key(self, shop):
        refused("idempotency_key_required", sell, shop=shop, idempotency_key="")

    def test_the_wrong_role(self, shop):
        refused("forbidden", sell, shop=shop, actor=shop.world.clerk)

    def test_another_sites_account(self, shop):
        other = f.account(shop.world.a2, meter_=f.meter(shop.world.a2))
        refused("forbidden", sell, shop=shop, account=other)

    def test_a_cashier_without_an_open_shift(self, shop):
        other = f.user(memberships=[(shop.world.a1.group, shop.world.a1.site, "cashier")])
        refused("no_open_shift", sell, shop=shop, actor=other)

    def test_an_account_without_a_meter(self, shop):
        refused("no_meter", sell, shop=shop, account=f.account(shop.world.a1))


class FindAndQuoteTestCase:
    def test_it_finds_by_serial_number_name_phone_and_unit_within_scope(self, shop):
        acc = shop.account
        cashier = shop.world.cashier
        assert find_accounts(cashier, shop.meter.serial) == [acc]
        assert find_accounts(cashier, acc.number) == [acc]
        assert acc in find_accounts(cashier, acc.customer.name)
        assert find_accounts(shop.world.clerk_b, acc.number) == []
        assert find_accounts(cashier, "") == []

    def test_a_quote_moves_nothing_and_matches_the_sale(self, shop):
        q = quote_vend(account=shop.account, actor=shop.world.cashier, amount="50.00")
        assert Vend.objects.count() == 0
        vend = sell(shop, amount="50.00")
        assert (q.energy, q.register_units) == (vend.energy, vend.register_units)
