"""The columns of each import kind: canonical key, English and Chinese headers, example value.

Contract: a file's header row may use the English key (``site_code``), the Chinese header
(``站点编码``) or a cell holding both (``站点编码 (site_code)``); matching ignores case, spaces,
``*`` marks and full-width brackets. Every other header is an error, so a typo never drops a column
silently. docs/import.md lists the same table; keep the two in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

KINDS = ("units", "customers", "meters")


@dataclass(frozen=True)
class Column:
    """One column of an import kind."""

    key: str  # canonical English header (also the dictionary key of parsed rows)
    zh: str  # Chinese header
    label: Any  # lazy translated label for screens and reports
    required: bool = False
    aliases: tuple[str, ...] = ()  # further accepted spellings (already normalised)


SITE = Column("site_code", "站点编码", _("site code"), True, ("site", "站点", "供电区域", "区域编码"))

COLUMNS: dict[str, tuple[Column, ...]] = {
    "units": (
        SITE,
        Column("building_code", "楼栋编码", _("building code"), True, ("building", "楼栋", "楼号")),
        Column("building_name", "楼栋名称", _("building name"), False, ("楼名",)),
        Column("unit_number", "房号", _("unit number"), True, ("unit", "房间号", "单元号")),
        Column("floor", "楼层", _("floor"), False, ("层",)),
        Column(
            "area_m2",
            "面积(平方米)",
            _("area (m²)"),
            False,
            ("area", "面积", "面积(m²)", "面积(m2)", "建筑面积"),
        ),
    ),
    "customers": (
        SITE,
        Column("customer_number", "用户编号", _("customer number"), True, ("number", "户号", "客户编号")),
        Column("name", "用户名称", _("name"), True, ("customer_name", "姓名", "名称", "户名")),
        Column(
            "customer_type_code", "用户类型编码", _("customer type code"), True, ("customer_type", "用户类型")
        ),
        Column("phone", "电话", _("phone"), False, ("手机", "手机号", "联系电话")),
        Column("id_number", "证件号码", _("ID / licence number"), False, ("id", "身份证号", "证件号")),
        Column("email", "电子邮箱", _("email"), False, ("邮箱",)),
        Column("address", "地址", _("address"), False, ("联系地址",)),
        Column("language", "通知语言", _("language"), False, ("语言",)),
        Column("building_code", "楼栋编码", _("building code"), False, ("building", "楼栋", "楼号")),
        Column("unit_number", "房号", _("unit number"), False, ("unit", "房间号", "单元号")),
        Column("utility", "能源类型", _("utility"), False, ("表计类型", "类别")),
        Column("mode", "费控方式", _("fee control"), False, ("fee_control", "费控")),
        Column("billing", "计费方式", _("billing"), False, ("付费方式",)),
    ),
    "meters": (
        SITE,
        Column(
            "serial",
            "表号",
            _("serial number"),
            True,
            ("serial_number", "meter_serial", "表计编号", "电表号"),
        ),
        Column(
            "meter_model_code",
            "表型编码",
            _("meter model code"),
            True,
            ("meter_model", "model", "表型", "型号"),
        ),
        Column("ct_ratio", "CT变比", _("CT ratio"), False, ("ct", "电流变比", "ct变比")),
        Column("pt_ratio", "PT变比", _("PT ratio"), False, ("pt", "电压变比", "pt变比")),
        Column("drn", "DRN", _("decoder reference number"), False, ("iain", "表计识别号")),
        Column("supply_group_code", "供电组代码", _("supply group code"), False, ("sgc",)),
        Column("tariff_index", "费率索引", _("tariff index"), False, ("ti",)),
        Column("key_revision", "密钥版本", _("key revision"), False, ("krn",)),
        Column("key_type", "密钥类型", _("key type"), False, ("kt",)),
        Column("encryption_algorithm", "加密算法", _("encryption algorithm"), False, ("ea",)),
        Column("base_date", "基准日期", _("base date"), False, ("bd",)),
        Column("protocol", "通信协议", _("protocol"), False, ("协议",)),
        Column("comm_address", "通信地址", _("communication address"), False, ("address", "地址", "表地址")),
    ),
}


def normalise(header: str) -> str:
    """Lower-case, full-width brackets to ASCII, drop spaces, ``*`` and ``-``→``_``."""
    h = header.strip().lower().replace("（", "(").replace("）", ")").replace("*", "").replace("-", "_")
    return re.sub(r"\s+", "", h).replace("²", "2")


def _lookup(kind: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for col in COLUMNS[kind]:
        for name in (col.key, col.zh, *col.aliases):
            table[normalise(name)] = col.key
            table[normalise(name).replace("_", "")] = col.key
    return table


def match_header(kind: str, header: str) -> str | None:
    """The canonical key ``header`` names in ``kind``, or None when it names no known column."""
    table = _lookup(kind)
    h = normalise(header)
    if h in table:
        return table[h]
    if h.replace("_", "") in table:
        return table[h.replace("_", "")]
    # "站点编码 (site_code)", "site_code/站点编码": accept when every known part agrees.
    parts = {table[normalise(p)] for p in re.split(r"[\s()/|（）]+", header) if p and normalise(p) in table}
    return parts.pop() if len(parts) == 1 else None


def headers(kind: str, language: str = "en") -> list[str]:
    """The header row written into templates: English keys, or Chinese headers for ``zh``."""
    return [col.zh if language.startswith("zh") else col.key for col in COLUMNS[kind]]
