"""The demo data set: one property group, two sites, ~50 customers, meters of every kind, staff, and
the first day of trading.

Everything is written through the business actions (so the demo has a real audit trail) by the
platform operator ``root`` and the sites' cashiers. Loading is idempotent: when the group exists
nothing is added. Passwords are random on first load and kept in ``<var>/demo-users.txt`` (mode 0600)
so a re-run can print them again.

The history, as a site that has just opened for business would have it (:func:`_first_day`):

* every account made its opening purchase at its site's counter, in one shift per site that was
  cashed up without a difference (``do_open_shift`` → ``do_vend`` → ``do_close_shift``); local-control
  meters got their tokens / card writes, remote-control accounts hold the money on their balance:
  one to four weeks of their usual consumption;
* the accounts in :data:`LOW_CREDIT` bought little and sit at warning level 1 from the start (the
  group's warning policies for commercial and industrial customers);
* the account in :data:`IN_ARREARS` owes a property fee carried over from the previous system; it is
  a local-control home, so it is not cut off: its next purchase settles the fee first;
* no account is cut off, and there are no readings yet: the simulator's twins start at each
  installation's opening reading with the credit sold for them (:mod:`prepay.simulator.binding`).

README.md ("The demo's accounts") names these accounts by number; a test keeps the two in step.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from prepay.common.actions import do_save_record
from prepay.customers.actions import do_create_customer, do_open_account
from prepay.customers.choices import AccountMode, Utility
from prepay.customers.models import Account, Building, CustomerType, Unit
from prepay.domain.tokens.sts.ids import luhn_check_digit
from prepay.meters.actions import do_assign_meter, do_register_meter
from prepay.meters.choices import MeterKind, Protocol, TokenSystem
from prepay.meters.models import Meter, MeterModel
from prepay.tariffs.models import Tariff, TariffKind
from prepay.tenancy.choices import Role
from prepay.tenancy.models import Membership, PropertyGroup, Site

GROUP_CODE = "harbour"
SERIAL_PREFIX = {"single": "4700", "three": "4710", "water": "8800"}  # meter serials by kind
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰文斌"

#: (username, role, site code or None for group-wide, description)
STAFF = [
    ("admin", Role.ADMIN, None, "group administrator"),
    ("finance", Role.FINANCE, None, "group finance (all sites)"),
    ("auditor", Role.AUDITOR, None, "group auditor (read-only)"),
    ("clerk.rg", Role.CLERK, "riverside", "clerk, Riverside Garden"),
    ("cashier.rg", Role.CASHIER, "riverside", "cashier, Riverside Garden"),
    ("clerk.tp", Role.CLERK, "techpark", "clerk, Tech Park"),
    ("cashier.tp", Role.CASHIER, "techpark", "cashier, Tech Park"),
    ("finance.tp", Role.FINANCE, "techpark", "finance, Tech Park only"),
]

#: a unit as (site code, building code, unit number)
UnitKey = tuple[str, str, str]
#: remote-control accounts that start at warning level 1, and what they bought
LOW_CREDIT: dict[UnitKey, Decimal] = {
    ("riverside", "S", "108"): Decimal("200.00"),
    ("techpark", "A", "602"): Decimal("240.00"),
}
#: the home that owes a property fee carried over from the previous system, and how much
IN_ARREARS: tuple[UnitKey, Decimal] = (("riverside", "1", "301"), Decimal("128.50"))
#: flats nobody lives in yet (a clerk can open an account there; docs/examples/customers.csv does)
VACANT: set[UnitKey] = {("riverside", "2", "601"), ("riverside", "2", "602")}
#: group-wide warning levels (level 1, level 2) per customer type: a shop uses ~¥100 a day
WARNING_LEVELS = {"commercial": ("300.00", "100.00"), "industrial": ("3000.00", "1000.00")}
OPENING_FLOAT = Decimal("500.00")


def _passwords(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return dict(line.split("\t", 1) for line in path.read_text().splitlines() if "\t" in line)


def load_demo(var_dir: Path, *, seed: int = 2026) -> tuple[bool, list[tuple[str, str, str]]]:
    """Load the demo set once; return (created now?, [(username, password, description)])."""
    pw_file = var_dir / "demo-users.txt"
    created = False
    if not PropertyGroup.objects.filter(code=GROUP_CODE).exists():
        passwords = {name: secrets.token_urlsafe(9) for name, *_ in STAFF}
        passwords["root"] = secrets.token_urlsafe(12)
        with transaction.atomic():
            _build(passwords, random.Random(seed))  # noqa: S311 - demo data, not security
        var_dir.mkdir(parents=True, exist_ok=True)
        pw_file.write_text("".join(f"{k}\t{v}\n" for k, v in passwords.items()))
        pw_file.chmod(0o600)
        created = True
    passwords = _passwords(pw_file)
    rows = [("root", passwords.get("root", "?"), "platform operator (superuser)")]
    rows += [(name, passwords.get(name, "?"), desc) for name, _role, _site, desc in STAFF]
    return created, rows


def example_accounts() -> dict[str, str]:
    """The documented example accounts of a loaded demo: {account number: "low_credit" | "arrears"}."""
    wanted = {key: "low_credit" for key in LOW_CREDIT} | {IN_ARREARS[0]: "arrears"}
    out = {}
    for (site, building, number), role in wanted.items():
        acc = Account.objects.filter(
            site__group__code=GROUP_CODE,
            site__code=site,
            unit__building__code=building,
            unit__number=number,
            utility=Utility.ELECTRICITY,
        ).first()
        if acc is not None:
            out[acc.number] = role
    return out


@dataclass
class _Home:
    """An account the demo opened, with what decides its history."""

    account: Account
    key: UnitKey
    ctype: str  # residential, commercial, industrial


def _build(passwords: dict[str, str], rnd: random.Random) -> None:
    root = _operator(passwords)
    group = PropertyGroup.objects.create(code=GROUP_CODE, name="海港物业集团 Harbour Property Group")
    sites = _sites(group, root)
    users = _staff(group, sites, passwords)
    types = _customer_types(group, _tariffs(group, root), root)
    _warning_policies(group, types, root)
    points = _vending(group, sites, rnd, root)
    stock = _Stock(_meter_models(group, root), root)
    homes = _customers(sites, types, stock, rnd, root)
    _first_day(homes, points, users, rnd)
    _arrears_carried_over(homes, root)


def _operator(passwords: dict[str, str]) -> Any:
    User = get_user_model()
    return User.objects.filter(username="root").first() or User.objects.create_superuser(
        "root", "root@example.invalid", passwords["root"]
    )


def _sites(group: PropertyGroup, root: Any) -> dict[str, Site]:
    return {
        "riverside": do_save_record(
            Site(group=group, code="riverside", name="滨江花园 Riverside Garden", address="滨江路 88 号"),
            actor=root,
        ),
        "techpark": do_save_record(
            Site(group=group, code="techpark", name="高新科技园 Tech Park", address="创新大道 1 号"),
            actor=root,
        ),
    }


def _staff(group: PropertyGroup, sites: dict[str, Site], passwords: dict[str, str]) -> dict[str, Any]:
    User = get_user_model()
    users = {}
    for name, role, site_code, _desc in STAFF:
        user = User.objects.create_user(name, password=passwords[name], is_staff=True)
        Membership.objects.create(
            user=user, group=group, site=sites[site_code] if site_code else None, role=role
        )
        users[name] = user
    return users


def _tariffs(group: PropertyGroup, root: Any) -> dict[str, Tariff]:
    def tariff(
        code: str, name: str, kind: str, price: str, definition: dict[str, Any], utility: str
    ) -> Tariff:
        row = Tariff(
            group=group,
            code=code,
            name=name,
            kind=kind,
            unit_price=Decimal(price),
            definition=definition,
            utility=utility,
            effective_from=date(2026, 1, 1),
        )
        return do_save_record(row, actor=root)

    el, water = Utility.ELECTRICITY, Utility.WATER
    res_blocks = [("200", "0.5880"), ("400", "0.6380"), (None, "0.8880")]
    water_blocks = [("180", "3.4500"), ("260", "4.8300"), (None, "7.9600")]
    tou = {
        "prices": {"sharp": "1.2500", "peak": "0.9800", "flat": "0.6500", "valley": "0.3200"},
        "schedule": [
            ["00:00", "08:00", "valley"],
            ["08:00", "10:00", "flat"],
            ["10:00", "12:00", "sharp"],
            ["12:00", "17:00", "peak"],
            ["17:00", "22:00", "flat"],
            ["22:00", "24:00", "valley"],
        ],
    }
    return {
        "residential": tariff(
            "res-tiered",
            "居民阶梯电价 Residential tiered",
            TariffKind.TIERED,
            "0.5880",
            {"cycle": "month", "blocks": [{"upto": u, "price": p} for u, p in res_blocks]},
            el,
        ),
        "commercial": tariff("com-flat", "商业电价 Commercial flat", TariffKind.FLAT, "0.8650", {}, el),
        "industrial": tariff(
            "ind-tou", "工业峰谷电价 Industrial time-of-use", TariffKind.TOU, "0.6500", tou, el
        ),
        "water": tariff(
            "water-tiered",
            "居民阶梯水价 Residential water",
            TariffKind.TIERED,
            "3.4500",
            {"cycle": "year", "blocks": [{"upto": u, "price": p} for u, p in water_blocks]},
            water,
        ),
    }


def _customer_types(group: PropertyGroup, tariffs: dict[str, Tariff], root: Any) -> dict[str, CustomerType]:
    names = {
        "residential": "居民 Residential",
        "commercial": "商业 Commercial",
        "industrial": "工业 Industrial",
    }
    return {
        code: do_save_record(
            CustomerType(
                group=group,
                code=code,
                name=name,
                default_electricity_tariff=tariffs[code],
                default_water_tariff=tariffs["water"],
            ),
            actor=root,
        )
        for code, name in names.items()
    }


def _warning_policies(group: PropertyGroup, types: dict[str, CustomerType], root: Any) -> None:
    """Warning levels sized to what a shop or a factory uses in a day (the site default is ¥20 / ¥5)."""
    from prepay.billing.models import WarningPolicy

    for code, (level1, level2) in WARNING_LEVELS.items():
        do_save_record(
            WarningPolicy(
                group=group, customer_type=types[code], level1=Decimal(level1), level2=Decimal(level2)
            ),
            actor=root,
        )


def _meter_models(group: PropertyGroup, root: Any) -> dict[str, MeterModel]:
    specs = {
        "single": ("ddsy-666", "DDSY666 单相费控表", "Linyang", MeterKind.SINGLE_PHASE, [Protocol.DLT645]),
        "three": (
            "dtsy-666",
            "DTSY666 三相费控表 (CT)",
            "Linyang",
            MeterKind.THREE_PHASE,
            [Protocol.MODBUS_TCP, Protocol.DLT645],
        ),
        "water": ("lxsy-20", "LXSY-20 预付费水表", "Sanchuan", MeterKind.WATER, [Protocol.CJT188]),
    }
    out = {}
    for key, (code, name, maker, kind, protocols) in specs.items():
        water = kind == MeterKind.WATER
        out[key] = do_save_record(
            MeterModel(
                group=group,
                code=code,
                name=name,
                manufacturer=maker,
                kind=kind,
                token_system=TokenSystem.NONE if water else TokenSystem.STS,
                has_keypad=not water,
                has_ic_card=water,
                protocols=protocols,
            ),
            actor=root,
        )
    return out


def _vending(group: PropertyGroup, sites: dict[str, Site], rnd: random.Random, root: Any) -> dict[str, Any]:
    """A demo vending key (never use it for real meters), a counter per site, an agent and WeChat Pay."""
    from prepay.tokens.actions import do_import_vending_keys
    from prepay.vending.actions import do_topup_float
    from prepay.vending.models import PointKind, VendingPoint

    key = f"{rnd.getrandbits(64):016X}"
    do_import_vending_keys(
        group=group,
        actor=root,
        rows=[
            {
                "label": "DEMO vending key - not for real meters",
                "dkga": "02",
                "supply_group_code": "600123",
                "key_revision": 1,
                "key_type": 2,
                "key": key,
            }
        ],
    )
    points = {
        code: VendingPoint.objects.create(
            site=sites[code], code="counter-1", name="1号窗口 Counter 1", receipt_prefix=prefix
        )
        for code, prefix in (("riverside", "RG"), ("techpark", "TP"))
    }
    agent = VendingPoint.objects.create(
        site=sites["riverside"],
        code="agent-shop",
        name="便利店代售点 Corner shop agent",
        kind=PointKind.AGENT,
        uses_float=True,
        credit_limit=Decimal("500.00"),
        receipt_prefix="RGA",
    )
    do_topup_float(point=agent, amount="2000.00", actor=root, idempotency_key="demo-float-1")
    # the payment channel of the API examples (README.md, docs/api.md)
    VendingPoint.objects.create(
        site=sites["riverside"],
        code="wechat",
        name="微信支付 WeChat Pay",
        kind=PointKind.ONLINE,
        receipt_prefix="RGW",
    )
    return points


class _Stock:
    """Registers meters with consecutive serials, DRNs and bus addresses."""

    def __init__(self, models: dict[str, MeterModel], root: Any) -> None:
        self.models, self.root, self.n = models, root, 0

    def new(self, site: Site, kind: str, ct: int = 1) -> Meter:
        self.n += 1
        n, model = self.n, self.models[kind]
        return do_register_meter(
            site=site,
            serial=f"{SERIAL_PREFIX[kind]}{n:07d}",
            model=model,
            ct_ratio=ct,
            actor=self.root,
            supply_group_code="600123",
            tariff_index="01",
            drn=f"{n:010d}{luhn_check_digit(f'{n:010d}')}",  # an 11-digit DRN with its Luhn digit
            protocol=model.protocols[0],
            comm_params={"address": f"{n:012d}"},
        )


def _units(
    site: Site, bcode: str, bname: str, floors: int, per_floor: int, area: str, root: Any
) -> list[Unit]:
    b = do_save_record(Building(site=site, code=bcode, name=bname, floors=floors), actor=root)
    return [
        do_save_record(Unit(building=b, number=f"{fl}{i:02d}", floor=fl, area=Decimal(area)), actor=root)
        for fl in range(1, floors + 1)
        for i in range(1, per_floor + 1)
    ]


def _customers(
    sites: dict[str, Site], types: dict[str, CustomerType], stock: _Stock, rnd: random.Random, root: Any
) -> list[_Home]:
    """Buildings and units, a few meters in stock per site, and a customer with an account and a
    meter (plus a water meter on the lower floors of the homes) in every unit but the vacant ones."""
    rg, tp = sites["riverside"], sites["techpark"]
    homes = _units(rg, "1", "1号楼 Block 1", 6, 2, "89.50", root) + _units(
        rg, "2", "2号楼 Block 2", 6, 2, "120.00", root
    )
    shops = _units(rg, "S", "商铺 Shops", 1, 8, "45.00", root)
    offices = _units(tp, "A", "A座 Office A", 6, 2, "300.00", root)
    plants = _units(tp, "F", "厂房 Factory", 1, 6, "1500.00", root)
    for site in (rg, tp):
        for kind in ("single", "single", "three", "water"):
            stock.new(site, kind)

    def person() -> str:
        return rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))

    out: list[_Home] = []
    for site, unit_list, ctype, kind, mode in [
        (rg, homes, "residential", "single", AccountMode.LOCAL),
        (rg, shops, "commercial", "single", AccountMode.REMOTE),
        (tp, offices, "commercial", "three", AccountMode.REMOTE),
        (tp, plants, "industrial", "three", AccountMode.REMOTE),
    ]:
        for unit in unit_list:
            key = (site.code, unit.building.code, unit.number)
            if key in VACANT:
                continue
            name = (
                person()
                if ctype == "residential"
                else f"{person()}{rnd.choice(['商行', '科技有限公司', '制造厂'])}"
            )
            cust = do_create_customer(
                site=site,
                number=f"C{len(out) + 1:05d}",
                customer_type=types[ctype],
                actor=root,
                name=name,
                phone=f"13{rnd.randrange(10**9):09d}",
            )
            acc = do_open_account(customer=cust, unit=unit, mode=mode, actor=root)
            ct = {"single": 1, "three": rnd.choice((50, 100, 200))}[kind]
            opening = Decimal(rnd.randrange(0, 5000))
            do_assign_meter(account=acc, meter=stock.new(site, kind, ct), opening_reading=opening, actor=root)
            out.append(_Home(acc, key, ctype))
            if ctype == "residential" and unit.floor <= 2:
                water = do_open_account(customer=cust, unit=unit, utility=Utility.WATER, actor=root)
                opening = Decimal(rnd.randrange(0, 300))
                do_assign_meter(
                    account=water, meter=stock.new(site, "water"), opening_reading=opening, actor=root
                )
                out.append(_Home(water, key, "water"))
    return out


def _opening_purchase(home: _Home, rnd: random.Random) -> tuple[Decimal, str, str]:
    """(amount, payment method, reference) of an account's first purchase: about a week to a month
    of what such a customer uses (a home ¥150 a month, a shop ¥100 a day, a factory ¥700 a day)."""
    if home.key in LOW_CREDIT and home.account.utility == Utility.ELECTRICITY:
        return LOW_CREDIT[home.key], "cash", ""
    if home.ctype == "water":
        return Decimal(rnd.choice((30, 50, 60, 90))), "cash", ""
    if home.ctype == "residential":
        return Decimal(rnd.choice((50, 100, 100, 150, 200, 300))), rnd.choice(("cash", "cash", "card")), ""
    if home.ctype == "industrial":
        return Decimal(rnd.randrange(15, 31) * 1000), "transfer", f"BANK{rnd.randrange(10**8):08d}"
    return Decimal(rnd.randrange(10, 41) * 100), rnd.choice(("cash", "card", "card")), ""


def _first_day(homes: list[_Home], points: dict[str, Any], users: dict[str, Any], rnd: random.Random) -> None:
    """Each site's cashier opens a shift, sells every account its opening purchase, and cashes up."""
    from prepay.vending.actions import do_vend
    from prepay.vending.shifts import do_close_shift, do_open_shift, shift_summary

    for site_code, cashier in (("riverside", "cashier.rg"), ("techpark", "cashier.tp")):
        actor, point = users[cashier], points[site_code]
        shift = do_open_shift(point=point, actor=actor, opening_float=OPENING_FLOAT)
        for home in homes:
            if home.key[0] != site_code:
                continue
            amount, method, reference = _opening_purchase(home, rnd)
            do_vend(
                account=home.account,
                actor=actor,
                point=point,
                shift=shift,
                amount=amount,
                method=method,
                reference=reference,
                idempotency_key=f"demo-opening-{home.account.number}",
            )
        counted = {m: str(v) for m, v in shift_summary(shift)["expected"].items()}
        do_close_shift(shift=shift, actor=actor, declared=counted, note="第一天营业 first day of trading")


def _arrears_carried_over(homes: list[_Home], root: Any) -> None:
    """The property fee :data:`IN_ARREARS` owes from the previous system, charged as a one-off fee."""
    from prepay.billing.actions import do_charge_fees
    from prepay.billing.models import FeeFrequency, FeeKind, FeeSchedule

    key, amount = IN_ARREARS
    home = next(h for h in homes if h.key == key and h.account.utility == Utility.ELECTRICITY)
    today = timezone.localdate()
    do_save_record(
        FeeSchedule(
            site=home.account.site,
            account=home.account,
            kind=FeeKind.PROPERTY,
            name="物业费欠费结转 Property fee carried over",
            amount=amount,
            frequency=FeeFrequency.ONCE,
            starts_on=today,
        ),
        actor=root,
    )
    do_charge_fees(site=home.account.site, month=today, actor=root)
