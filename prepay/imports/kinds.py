"""The three import kinds: units (with their buildings), customers (optionally with an account), meters.

Each ``check`` repeats, row by row and without writing, every refusal its action would raise, so
that a bad file is reported in full before anything is written; the actions check again when the
rows are written (a change made meanwhile by someone else is then reported on its row).

Permissions: ``import.run`` on the row's site plus what the action needs there — units and
buildings ``masterdata.change`` (admins), customers ``customer.change`` (+ ``account.lifecycle``
when the row opens an account), meters ``meter.stock``. The import is a faster way to do what the
actor may already do by hand, never a way around the permission matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from prepay.common.actions import do_save_record
from prepay.customers.actions import do_create_customer, do_open_account
from prepay.customers.choices import AccountMode, AccountStatus, BillingMode, Utility
from prepay.customers.models import Account, Building, Customer, CustomerType, Unit
from prepay.domain.money import ENERGY_PLACES
from prepay.domain.typed import ascii_text
from prepay.imports.base import KindImporter, Row
from prepay.meters.actions import do_register_meter
from prepay.meters.choices import Protocol
from prepay.meters.models import Meter, MeterModel
from prepay.tenancy.models import Site

#: accepted spellings (lower-case, no spaces) of the choice columns
UTILITY = {
    "electricity": Utility.ELECTRICITY,
    "electric": Utility.ELECTRICITY,
    "power": Utility.ELECTRICITY,
    "电": Utility.ELECTRICITY,
    "电力": Utility.ELECTRICITY,
    "用电": Utility.ELECTRICITY,
    "water": Utility.WATER,
    "水": Utility.WATER,
    "用水": Utility.WATER,
}
MODE = {
    "local": AccountMode.LOCAL,
    "本地": AccountMode.LOCAL,
    "本地费控": AccountMode.LOCAL,
    "remote": AccountMode.REMOTE,
    "远程": AccountMode.REMOTE,
    "远程费控": AccountMode.REMOTE,
}
LANGUAGE = {
    "zh-hans": "zh-hans",
    "zh": "zh-hans",
    "chinese": "zh-hans",
    "中文": "zh-hans",
    "简体中文": "zh-hans",
    "en": "en",
    "english": "en",
    "英文": "en",
    "英语": "en",
}
BILLING = {
    "prepaid": BillingMode.PREPAID,
    "预付费": BillingMode.PREPAID,
    "postpaid": BillingMode.POSTPAID,
    "后付费": BillingMode.POSTPAID,
}
ALGORITHM = {
    "07": "07",
    "7": "07",
    "ea07": "07",
    "sta": "07",
    "09": "09",
    "9": "09",
    "ea09": "09",
    "dea": "09",
}
BASE_DATE = {"1993": "1993", "2014": "2014", "2035": "2035"}
PROTOCOL: dict[str, str] = {p.value: p.value for p in Protocol} | {
    "modbus": Protocol.MODBUS_TCP.value,
    "modbustcp": Protocol.MODBUS_TCP.value,
    "dl/t645": Protocol.DLT645.value,
    "645": Protocol.DLT645.value,
    "cj/t188": Protocol.CJT188.value,
    "188": Protocol.CJT188.value,
}


def _default(field: str) -> Any:
    """An empty cell means the model's default (kept in one place: the Meter model)."""
    return Meter._meta.get_field(field).default  # type: ignore[union-attr]


def _site_label(site: Site) -> str:
    return site.code


# --- units ---------------------------------------------------------------------------------------


@dataclass
class _NewBuilding:
    site: Site
    code: str
    name: str
    floors: int
    rows: list[int]
    obj: Building | None = None


@dataclass
class UnitPlan:
    row: int
    site: Site
    building: Building | None  # None: created from ``new`` before the first of its units
    new: _NewBuilding | None
    number: str
    floor: int
    area: Decimal


class UnitImporter(KindImporter):
    """Units, creating a building the first time its code appears (the row must then name it)."""

    kind = "units"
    field_columns = {"number": "unit_number", "floor": "floor", "area": "area_m2"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._buildings: dict[tuple[int, str], Building | None] = {}
        self.new_buildings: dict[tuple[int, str], _NewBuilding] = {}
        self._nameless: dict[tuple[int, str], list[Row]] = {}

    def building(self, site: Site, code: str) -> Building | None:
        key = (site.pk, code)
        if key not in self._buildings:
            self._buildings[key] = Building.objects.filter(site=site, code=code).first()
        return self._buildings[key]

    def check(self, row: Row) -> UnitPlan | None:
        site = self.site(row, "masterdata.change")
        code = self.text(row, "building_code", 32)
        name = self.text(row, "building_name", 200)
        number = self.text(row, "unit_number", 32)
        floor = self.integer(row, "floor", 1, -99, 999)
        area = self.decimal(row, "area_m2", Decimal("0"), ENERGY_PLACES)
        if site is None or not code or not number:
            return None
        building = self.building(site, code)
        new = None
        if building is None:
            key = (site.pk, code)
            new = self.new_buildings.get(key)
            if new is None:
                new = self.new_buildings[key] = _NewBuilding(site, code, name, max(1, floor), [])
            new.rows.append(row.number)
            new.floors = max(new.floors, floor)
            if name and not new.name:
                new.name = name
            elif name and name != new.name:
                self.error(
                    row,
                    "building_name",
                    _("Building %(b)s is named %(n)s on row %(r)d; give it one name.")
                    % {"b": code, "n": new.name, "r": new.rows[0]},
                )
            if not name:
                self._nameless.setdefault(key, []).append(row)
        elif Unit.objects.filter(building=building, number=number).exists():
            self.error(
                row,
                "unit_number",
                _("Unit %(u)s already exists in building %(b)s at site %(s)s.")
                % {"u": number, "b": code, "s": _site_label(site)},
            )
        self.once(row, "unit_number", ("unit", site.pk, code, number), _("Unit"))
        unit = Unit(building=building, number=number, floor=floor, area=area)
        self.model_errors(row, unit, exclude=["building"])
        if row.bad:
            return None
        return UnitPlan(row.number, site, building, new, number, floor, area)

    def finish(self) -> None:
        for key, rows in self._nameless.items():
            new = self.new_buildings[key]
            if not new.name:
                for row in rows:
                    self.error(
                        row,
                        "building_name",
                        _("Building %(b)s does not exist at site %(s)s; give its name to create it.")
                        % {"b": new.code, "s": _site_label(new.site)},
                    )

    def write(self, plan: UnitPlan) -> None:
        building = plan.building
        if building is None:
            assert plan.new is not None
            if plan.new.obj is None:
                plan.new.obj = do_save_record(
                    Building(
                        site=plan.new.site, code=plan.new.code, name=plan.new.name, floors=plan.new.floors
                    ),
                    actor=self.actor,
                    capability="masterdata.change",
                )
                self.report.count("building")
            building = plan.new.obj
        do_save_record(
            Unit(building=building, number=plan.number, floor=plan.floor, area=plan.area),
            actor=self.actor,
            capability="masterdata.change",
        )
        self.report.count("unit")


# --- customers -----------------------------------------------------------------------------------


@dataclass
class CustomerPlan:
    row: int
    site: Site
    fields: dict[str, Any]
    unit: Unit | None
    utility: str
    mode: str
    billing: str


class CustomerImporter(KindImporter):
    """Customers; a row naming a unit (building code + unit number) also opens an account (开户)."""

    kind = "customers"
    field_columns = {
        "number": "customer_number",
        "name": "name",
        "phone": "phone",
        "id_number": "id_number",
        "email": "email",
        "address": "address",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._types: dict[tuple[int, str], CustomerType | None] = {}

    def customer_type(self, site: Site, code: str) -> CustomerType | None:
        key = (site.group_id, code)
        if key not in self._types:
            self._types[key] = CustomerType.objects.filter(group_id=site.group_id, code=code).first()
        return self._types[key]

    def check(self, row: Row) -> CustomerPlan | None:
        opens = bool(row.get("building_code") or row.get("unit_number"))
        site = self.site(row, "customer.change", *(("account.lifecycle",) if opens else ()))
        fields, type_code = self._customer_columns(row)
        building_code, unit_number = row.get("building_code"), row.get("unit_number")
        utility = self.choice(row, "utility", UTILITY, Utility.ELECTRICITY)
        mode = self.choice(row, "mode", MODE, AccountMode.LOCAL)
        billing = self.choice(row, "billing", BILLING, BillingMode.PREPAID)
        self._check_account_columns(row, opens, building_code, unit_number)
        if site is None:
            return None
        fields["customer_type"] = self._type_of(row, site, type_code)
        self._check_number(row, site, fields["number"])
        unit = None
        if opens and building_code and unit_number:
            unit = self._unit_to_open(row, site, building_code, unit_number, utility)
        if not row.bad:
            self.model_errors(row, Customer(site=site, **fields), exclude=["site", "customer_type"])
        if row.bad:
            return None
        return CustomerPlan(row.number, site, fields, unit, utility, mode, billing)

    def _customer_columns(self, row: Row) -> tuple[dict[str, Any], str]:
        """(the customer's fields from the row, its type still None; the customer type code)."""
        number = self.text(row, "customer_number", 32)
        name = self.text(row, "name", 200)
        type_code = self.text(row, "customer_type_code", 32)
        phone = self.text(row, "phone", 32)
        id_number = self.text(row, "id_number", 40)
        email = self.text(row, "email", 254)
        address = self.text(row, "address", 300)
        language = self.choice(row, "language", LANGUAGE, "")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                self.error(row, "email", _("Not a valid email address."))
        fields: dict[str, Any] = {
            "number": number,
            "name": name,
            "customer_type": None,
            "phone": phone,
            "id_number": id_number,
            "email": email,
            "address": address,
            "language": language,
        }
        return fields, type_code

    def _check_account_columns(self, row: Row, opens: bool, building_code: Any, unit_number: Any) -> None:
        """An account is opened only with both the building code and the unit number, and the
        account columns (utility, mode, billing) only make sense then."""
        if opens and not (building_code and unit_number):
            missing = "unit_number" if building_code else "building_code"
            self.error(row, missing, _("Give both the building code and the unit number to open an account."))
        if not opens:
            for key in ("utility", "mode", "billing"):
                if row.get(key):
                    self.error(
                        row,
                        key,
                        _(
                            "An account is opened only when the row names a unit (building code and unit number)."
                        ),
                    )

    def _type_of(self, row: Row, site: Site, type_code: str) -> CustomerType | None:
        """The customer type the row names (None when it names none or an unknown one: reported)."""
        ctype = self.customer_type(site, type_code) if type_code else None
        if type_code and ctype is None:
            self.error(
                row,
                "customer_type_code",
                _("Unknown customer type %(v)s in group %(g)s.") % {"v": type_code, "g": site.group.code},
            )
        return ctype

    def _check_number(self, row: Row, site: Site, number: str) -> None:
        """The customer number is new at the site and once in the file."""
        if number and Customer.objects.filter(site=site, number=number).exists():
            self.error(
                row,
                "customer_number",
                _("Customer number %(n)s already exists at site %(s)s.")
                % {"n": number, "s": _site_label(site)},
            )
        if number:
            self.once(row, "customer_number", ("customer", site.pk, number), _("Customer number"))

    def _unit_to_open(
        self, row: Row, site: Site, building_code: Any, unit_number: Any, utility: str
    ) -> Unit | None:
        """The unit the row opens an account at (None when it does not exist). A missing unit, or one
        that already has an open account of the utility, is reported; else it is claimed once in the file."""
        unit = Unit.objects.filter(
            building__site=site, building__code=building_code, number=unit_number
        ).first()
        if unit is None:
            self.error(
                row,
                "unit_number",
                _("Unit %(b)s %(u)s does not exist at site %(s)s; import the units first.")
                % {"b": building_code, "u": unit_number, "s": _site_label(site)},
            )
            return unit
        taken = (
            Account.objects.filter(unit=unit, utility=utility).exclude(status=AccountStatus.CLOSED).exists()
        )
        if taken:
            self.error(
                row,
                "unit_number",
                _("Unit %(b)s %(u)s already has an open %(t)s account.")
                % {"b": building_code, "u": unit_number, "t": Utility(utility).label},
            )
        else:
            self.once(row, "unit_number", ("account", unit.pk, utility), _("Unit"))
        return unit

    def write(self, plan: CustomerPlan) -> None:
        customer = do_create_customer(site=plan.site, actor=self.actor, **plan.fields)
        self.report.count("customer")
        if plan.unit is not None:
            do_open_account(
                customer=customer,
                unit=plan.unit,
                actor=self.actor,
                utility=plan.utility,
                mode=plan.mode,
                billing=plan.billing,
            )
            self.report.count("account")


# --- meters --------------------------------------------------------------------------------------


@dataclass
class MeterPlan:
    row: int
    site: Site
    serial: str
    model: MeterModel
    ct_ratio: int
    pt_ratio: int
    fields: dict[str, Any]


class MeterImporter(KindImporter):
    """Meters into stock at a site, with their CT/PT ratios, STS and communication parameters."""

    kind = "meters"
    field_columns = {
        "serial": "serial",
        "ct_ratio": "ct_ratio",
        "pt_ratio": "pt_ratio",
        "drn": "drn",
        "supply_group_code": "supply_group_code",
        "tariff_index": "tariff_index",
        "key_revision": "key_revision",
        "key_type": "key_type",
        "encryption_algorithm": "encryption_algorithm",
        "base_date": "base_date",
        "protocol": "protocol",
        "comm_params": "comm_address",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._models: dict[tuple[int, str], MeterModel | None] = {}

    def meter_model(self, site: Site, code: str) -> MeterModel | None:
        key = (site.group_id, code)
        if key not in self._models:
            self._models[key] = MeterModel.objects.filter(group_id=site.group_id, code=code).first()
        return self._models[key]

    def check(self, row: Row) -> MeterPlan | None:
        site = self.site(row, "meter.stock")
        serial = ascii_text(self.text(row, "serial", 32))
        model_code = self.text(row, "meter_model_code", 32)
        ct_ratio = self.integer(row, "ct_ratio", 1, 1)
        pt_ratio = self.integer(row, "pt_ratio", 1, 1)
        fields: dict[str, Any] = {
            "drn": self.digits(row, "drn", 13),
            # Excel drops leading zeros of numbers; these two have a fixed width in STS.
            "supply_group_code": self.digits(row, "supply_group_code", 6, pad=6),
            "tariff_index": self.digits(row, "tariff_index", 2, pad=2),
            "key_revision": self.integer(row, "key_revision", _default("key_revision"), 1, 9),
            "key_type": self.integer(row, "key_type", _default("key_type"), 0, 3),
            "encryption_algorithm": self.choice(
                row, "encryption_algorithm", ALGORITHM, str(_default("encryption_algorithm"))
            ),
            "base_date": int(self.choice(row, "base_date", BASE_DATE, str(_default("base_date")))),
            "protocol": self.choice(row, "protocol", PROTOCOL, ""),
        }
        address = self.text(row, "comm_address", 64)
        fields["comm_params"] = {"address": address} if address else {}
        if address and not fields["protocol"] and not row.get("protocol"):
            self.error(row, "protocol", _("Give the protocol that goes with the communication address."))
        if site is None:
            return None
        model = self.meter_model(site, model_code) if model_code else None
        if model_code and model is None:
            self.error(
                row,
                "meter_model_code",
                _("Unknown meter model %(v)s in group %(g)s.") % {"v": model_code, "g": site.group.code},
            )
        if serial:
            if Meter.objects.filter(group_id=site.group_id, serial=serial).exists():
                self.error(
                    row,
                    "serial",
                    _("Meter %(s)s is already registered in group %(g)s.")
                    % {"s": serial, "g": site.group.code},
                )
            self.once(row, "serial", ("meter", site.group_id, serial), _("Meter serial"))
        if not row.bad:
            meter = Meter(
                group_id=site.group_id,
                site=site,
                serial=serial,
                model=model,
                ct_ratio=ct_ratio,
                pt_ratio=pt_ratio,
                **fields,
            )
            self.model_errors(row, meter, exclude=["group", "site", "model"])
        if row.bad or model is None:
            return None
        return MeterPlan(row.number, site, serial, model, ct_ratio, pt_ratio, fields)

    def write(self, plan: MeterPlan) -> None:
        do_register_meter(
            site=plan.site,
            serial=plan.serial,
            model=plan.model,
            actor=self.actor,
            ct_ratio=plan.ct_ratio,
            pt_ratio=plan.pt_ratio,
            **plan.fields,
        )
        self.report.count("meter")


IMPORTERS: dict[str, type[KindImporter]] = {
    "units": UnitImporter,
    "customers": CustomerImporter,
    "meters": MeterImporter,
}
