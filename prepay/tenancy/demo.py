"""The demo data set: one property group, two sites, ~50 customers, meters of every kind, staff.

Everything is written through the business actions (so the demo has a real audit trail) by the
platform operator ``root``. Loading is idempotent: when the group exists nothing is added.
Passwords are random on first load and kept in ``<var>/demo-users.txt`` (mode 0600) so a re-run
can print them again.
"""

from __future__ import annotations

import random
import secrets
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from prepay.common.actions import do_save_record
from prepay.customers.actions import do_create_customer, do_open_account
from prepay.customers.choices import AccountMode, Utility
from prepay.customers.models import Building, CustomerType, Unit
from prepay.meters.actions import do_assign_meter, do_register_meter
from prepay.meters.choices import MeterKind, Protocol, TokenSystem
from prepay.meters.models import MeterModel
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


def _build(passwords: dict[str, str], rnd: random.Random) -> None:
    User = get_user_model()
    root = User.objects.filter(username="root").first() or User.objects.create_superuser(
        "root", "root@example.invalid", passwords["root"]
    )
    group = PropertyGroup.objects.create(code=GROUP_CODE, name="海港物业集团 Harbour Property Group")
    rg = do_save_record(
        Site(group=group, code="riverside", name="滨江花园 Riverside Garden", address="滨江路 88 号"),
        actor=root,
    )
    tp = do_save_record(
        Site(group=group, code="techpark", name="高新科技园 Tech Park", address="创新大道 1 号"), actor=root
    )
    sites = {"riverside": rg, "techpark": tp}
    for name, role, site_code, _desc in STAFF:
        user = User.objects.create_user(name, password=passwords[name], is_staff=True)
        Membership.objects.create(
            user=user, group=group, site=sites[site_code] if site_code else None, role=role
        )

    def tariff(
        code: str,
        name: str,
        kind: str,
        price: str,
        definition: dict[str, Any],
        utility: str = Utility.ELECTRICITY,
    ) -> Tariff:
        return do_save_record(
            Tariff(
                group=group,
                code=code,
                name=name,
                kind=kind,
                unit_price=Decimal(price),
                definition=definition,
                utility=utility,
                effective_from=date(2026, 1, 1),
            ),
            actor=root,
        )

    t_res = tariff(
        "res-tiered",
        "居民阶梯电价 Residential tiered",
        TariffKind.TIERED,
        "0.5880",
        {
            "cycle": "month",
            "blocks": [
                {"upto": "200", "price": "0.5880"},
                {"upto": "400", "price": "0.6380"},
                {"upto": None, "price": "0.8880"},
            ],
        },
    )
    t_com = tariff("com-flat", "商业电价 Commercial flat", TariffKind.FLAT, "0.8650", {})
    t_ind = tariff(
        "ind-tou",
        "工业峰谷电价 Industrial time-of-use",
        TariffKind.TOU,
        "0.6500",
        {
            "prices": {"sharp": "1.2500", "peak": "0.9800", "flat": "0.6500", "valley": "0.3200"},
            "schedule": [
                ["00:00", "08:00", "valley"],
                ["08:00", "10:00", "flat"],
                ["10:00", "12:00", "sharp"],
                ["12:00", "17:00", "peak"],
                ["17:00", "22:00", "flat"],
                ["22:00", "24:00", "valley"],
            ],
        },
    )
    t_water = tariff(
        "water-tiered",
        "居民阶梯水价 Residential water",
        TariffKind.TIERED,
        "3.4500",
        {
            "cycle": "year",
            "blocks": [
                {"upto": "180", "price": "3.4500"},
                {"upto": "260", "price": "4.8300"},
                {"upto": None, "price": "7.9600"},
            ],
        },
        Utility.WATER,
    )
    types = {
        code: do_save_record(
            CustomerType(
                group=group, code=code, name=name, default_electricity_tariff=el, default_water_tariff=t_water
            ),
            actor=root,
        )
        for code, name, el in [
            ("residential", "居民 Residential", t_res),
            ("commercial", "商业 Commercial", t_com),
            ("industrial", "工业 Industrial", t_ind),
        ]
    }
    models = {
        "single": do_save_record(
            MeterModel(
                group=group,
                code="ddsy-666",
                name="DDSY666 单相费控表",
                manufacturer="Linyang",
                kind=MeterKind.SINGLE_PHASE,
                token_system=TokenSystem.STS,
                has_keypad=True,
                protocols=[Protocol.DLT645],
            ),
            actor=root,
        ),
        "three": do_save_record(
            MeterModel(
                group=group,
                code="dtsy-666",
                name="DTSY666 三相费控表 (CT)",
                manufacturer="Linyang",
                kind=MeterKind.THREE_PHASE,
                token_system=TokenSystem.STS,
                has_keypad=True,
                protocols=[Protocol.MODBUS_TCP, Protocol.DLT645],
            ),
            actor=root,
        ),
        "water": do_save_record(
            MeterModel(
                group=group,
                code="lxsy-20",
                name="LXSY-20 预付费水表",
                manufacturer="Sanchuan",
                kind=MeterKind.WATER,
                token_system=TokenSystem.NONE,
                has_keypad=False,
                has_ic_card=True,
                protocols=[Protocol.CJT188],
            ),
            actor=root,
        ),
    }
    serial = iter(range(1, 10_000))

    def new_meter(site: Site, kind: str, ct: int = 1) -> Any:
        n = next(serial)
        m = models[kind]
        return do_register_meter(
            site=site,
            serial=f"{SERIAL_PREFIX[kind]}{n:07d}",
            model=m,
            ct_ratio=ct,
            actor=root,
            supply_group_code="600123",
            tariff_index="01",
            drn=f"{n:010d}{luhn_check_digit(f'{n:010d}')}",  # an 11-digit DRN with its Luhn digit
            protocol=m.protocols[0],
            comm_params={"address": f"{n:012d}"},
        )

    def units(site: Site, bcode: str, bname: str, floors: int, per_floor: int, area: str) -> list[Unit]:
        b = do_save_record(Building(site=site, code=bcode, name=bname, floors=floors), actor=root)
        return [
            do_save_record(Unit(building=b, number=f"{fl}{i:02d}", floor=fl, area=Decimal(area)), actor=root)
            for fl in range(1, floors + 1)
            for i in range(1, per_floor + 1)
        ]

    # a demo vending key (never use it for real meters) and vending points
    from prepay.domain.tokens.sts.ids import luhn_check_digit
    from prepay.tokens.actions import do_import_vending_keys
    from prepay.vending.actions import do_topup_float
    from prepay.vending.models import PointKind, VendingPoint

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
                "key": f"{rnd.getrandbits(64):016X}",
            }
        ],
    )
    for site, prefix in ((rg, "RG"), (tp, "TP")):
        VendingPoint.objects.create(
            site=site, code="counter-1", name="1号窗口 Counter 1", receipt_prefix=prefix
        )
    agent = VendingPoint.objects.create(
        site=rg,
        code="agent-shop",
        name="便利店代售点 Corner shop agent",
        kind=PointKind.AGENT,
        uses_float=True,
        credit_limit=Decimal("500.00"),
        receipt_prefix="RGA",
    )
    do_topup_float(point=agent, amount="2000.00", actor=root, idempotency_key="demo-float-1")

    homes = units(rg, "1", "1号楼 Block 1", 6, 2, "89.50") + units(rg, "2", "2号楼 Block 2", 6, 2, "120.00")
    shops = units(rg, "S", "商铺 Shops", 1, 8, "45.00")
    offices = units(tp, "A", "A座 Office A", 6, 2, "300.00")
    plants = units(tp, "F", "厂房 Factory", 1, 6, "1500.00")
    # some stock meters left uninstalled at each site
    for site in (rg, tp):
        for kind in ("single", "single", "three", "water"):
            new_meter(site, kind)

    def person() -> str:
        return rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))

    count = 0
    for site, unit_list, ctype, kind, mode in [
        (rg, homes, "residential", "single", AccountMode.LOCAL),
        (rg, shops, "commercial", "single", AccountMode.REMOTE),
        (tp, offices, "commercial", "three", AccountMode.REMOTE),
        (tp, plants, "industrial", "three", AccountMode.REMOTE),
    ]:
        for unit in unit_list:
            count += 1
            cust = do_create_customer(
                site=site,
                number=f"C{count:05d}",
                customer_type=types[ctype],
                actor=root,
                name=person()
                if ctype == "residential"
                else f"{person()}{rnd.choice(['商行', '科技有限公司', '制造厂'])}",
                phone=f"13{rnd.randrange(10**9):09d}",
            )
            acc = do_open_account(customer=cust, unit=unit, mode=mode, actor=root)
            ct = {"single": 1, "three": rnd.choice((50, 100, 200))}[kind]
            do_assign_meter(
                account=acc,
                meter=new_meter(site, kind, ct),
                opening_reading=Decimal(rnd.randrange(0, 5000)),
                actor=root,
            )
            if ctype == "residential" and unit.floor <= 2:
                water = do_open_account(customer=cust, unit=unit, utility=Utility.WATER, actor=root)
                do_assign_meter(
                    account=water,
                    meter=new_meter(site, "water"),
                    opening_reading=Decimal(rnd.randrange(0, 300)),
                    actor=root,
                )
