"""Finding accounts and units the way people at a counter say them.

* A unit as residents say it: ``1号楼 101``, ``1号楼101室``, ``1栋101``, ``1幢1单元101``, ``1-101``,
  ``1-1-101``, ``1#101``, ``Block 1 101``, ``S 108``, ``A座602`` (:func:`parse_unit`). The building
  part is matched against each building's code and the words of its name (``1号楼 Block 1`` answers
  to ``1``, ``1号楼`` and ``Block 1``); an entrance (单元) is looked for in unit numbers written
  ``1-101`` or ``1单元101`` where the data has them, else the room number alone.
* A customer by the pinyin initials of the name (``zs`` for 张三, see :mod:`prepay.customers.names`).
* Full-width digits and letters from a Chinese input method are read as ASCII.

:func:`with_meter_and_balance` annotates a queryset of accounts with the active meter's serial and
the balance (the newest ledger entry's ``balance_after``) in the same query, so lists that show them
make no query per row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from prepay.customers.models import Building, Unit
from prepay.customers.names import looks_like_initials
from prepay.domain.typed import ascii_text

_DASHES = str.maketrans({"—": "-", "–": "-", "－": "-", "_": "-", "＃": "#", "，": ",", "、": " "})
_BLD = r"(?P<b>[0-9]{1,3}|[a-z]{1,2}[0-9]{0,2})"
_ROOM = r"(?P<r>[0-9]{1,5}[a-z]?|[a-z][0-9]{1,4})"
_ENT_ZH = r"(?:(?P<e>[0-9]{1,2})\s*单元\s*-?\s*)?"
_PATTERNS = [
    # 1号楼 101, 1号楼101室, 1栋101, 1幢1单元101, 第1栋 101, A座602
    re.compile(rf"^第?\s*{_BLD}\s*(?:号楼|号|栋|幢|座|楼|#)\s*[-,]?\s*{_ENT_ZH}{_ROOM}\s*(?:室|号|房)?$"),
    # Block 1 101, Block 1, Room 101, Bldg 2 Unit 1 Room 101
    re.compile(
        rf"^(?:block|blk\.?|bldg\.?|building|tower)\s*{_BLD}\s*[-,/#]?\s*"
        rf"(?:(?:entrance|unit|stair)\s*(?P<e>[0-9]{{1,2}})\s*[-,/]?\s*)?(?:(?:room|rm\.?|flat|apt\.?|no\.?)\s*)?{_ROOM}$"
    ),
    # 1-101, 1-1-101, 1#101, 1/101, A-602
    re.compile(rf"^{_BLD}\s*[-/#]\s*(?:(?P<e>[0-9]{{1,2}})\s*[-/]\s*)?{_ROOM}$"),
    # 1 101, S 108
    re.compile(rf"^{_BLD}\s+{_ROOM}\s*(?:室|号|房)?$"),
    # S108
    re.compile(r"^(?P<b>[a-z])(?P<r>[0-9]{3,4})$"),
]
_PREFIXES = ("block", "blk.", "blk", "bldg.", "bldg", "building", "tower", "no.", "第")
_SUFFIXES = ("号楼", "号院", "号", "栋", "幢", "座", "楼", "#")


@dataclass(frozen=True)
class UnitKey:
    """A unit as typed: building, entrance (单元, may be empty) and room."""

    building: str
    entrance: str
    room: str

    def numbers(self) -> list[str]:
        """Unit numbers this key may be stored as: with the entrance where it is typed, then the room."""
        if not self.entrance:
            return [self.room]
        e, r = self.entrance, self.room
        return [f"{e}-{r}", f"{e}单元{r}", r]


def normalise(text: str) -> str:
    """Full-width forms folded to ASCII, dashes unified, lower case, spaces collapsed."""
    return " ".join(ascii_text(text or "").translate(_DASHES).lower().split())


def parse_unit(text: str) -> UnitKey | None:
    """The unit ``text`` names (see the module docstring), or None when it does not read as one."""
    t = normalise(text)
    for pattern in _PATTERNS:
        m = pattern.match(t)
        if m:
            parts = m.groupdict()
            return UnitKey(parts["b"], parts.get("e") or "", parts["r"])
    return None


def building_core(word: str) -> str:
    """``1号楼`` / ``Block 1`` / ``1栋`` → ``1``; ``A座`` → ``a``: a building's name without its kind."""
    w = normalise(word).replace(" ", "")
    for prefix in _PREFIXES:
        if w.startswith(prefix) and len(w) > len(prefix):
            w = w[len(prefix) :]
            break
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) > len(suffix):
            w = w[: -len(suffix)]
            break
    return w


def building_names(code: str, name: str) -> set[str]:
    """Every way a building is called: its code, each word of its name and each pair of words."""
    words = normalise(name).split()
    found = {building_core(code)} | {building_core(w) for w in words}
    found |= {building_core(f"{a} {b}") for a, b in zip(words, words[1:], strict=False)}
    return {w for w in found if w}


def matching_buildings(buildings: Iterable[tuple[int, str, str]], key: UnitKey) -> list[int]:
    """Ids of the (id, code, name) buildings that ``key`` names; with an entrance, a building coded
    ``1-1`` (building 1, entrance 1) answers too."""
    wanted = {key.building}
    if key.entrance:
        wanted |= {f"{key.building}-{key.entrance}", f"{key.building}{key.entrance}"}
    return [pk for pk, code, name in buildings if building_names(code, name) & wanted]


def unit_q(user: Any, text: str, prefix: str = "", *, site: Any = None) -> Q | None:
    """A filter on units (``prefix``: the path to the unit, e.g. ``"unit__"``) for the unit ``text``
    names among the buildings ``user`` may see (at ``site`` when given); None when ``text`` does not
    read as a unit or no building answers to it. One query (the buildings)."""
    key = parse_unit(text)
    if key is None:
        return None
    buildings = Building.objects.for_user(user)
    if site is not None:
        buildings = buildings.filter(site=site)
    ids = matching_buildings(buildings.values_list("pk", "code", "name"), key)
    if not ids:
        return None
    numbers = Q()
    for number in key.numbers():
        numbers |= Q(**{f"{prefix}number__iexact": number})
    return Q(**{f"{prefix}building_id__in": ids}) & numbers


def initials_q(text: str, prefix: str = "") -> Q | None:
    """Customers whose name's initials start with ``text`` (``zs`` → 张三), or None when ``text`` is not
    2 to 12 Latin letters."""
    t = normalise(text)
    if not looks_like_initials(t):
        return None
    return Q(**{f"{prefix}name_initials__contains": f" {t}"})


def account_search_q(user: Any, text: str) -> Q:
    """Accounts matching ``text`` anywhere a counter looks: account number, customer number, name,
    phone, initials, the unit as residents say it, or the active meter's serial (all partly)."""
    t = ascii_text(text or "").strip()
    found = (
        Q(number__icontains=t)
        | Q(customer__number__iexact=t)
        | Q(customer__name__icontains=t)
        | Q(customer__phone__icontains=t)
        | Q(unit__number__iexact=t)
        | Q(installations__meter__serial__icontains=t, installations__ended_at__isnull=True)
    )
    for extra in (initials_q(t, "customer__"), unit_q(user, t, "unit__")):
        if extra is not None:
            found |= extra
    return found


def units_for(user: Any, text: str, *, site: Any = None, limit: int = 20) -> list[Unit]:
    """Units ``user`` may see (at ``site``) named by ``text``: as residents say it, or by the unit
    number or building code / name starting with it; at most ``limit``, with their buildings."""
    units = Unit.objects.for_user(user).select_related("building")
    if site is not None:
        units = units.filter(building__site=site)
    t = ascii_text(text or "").strip()
    if not t:
        return list(units.order_by("building__code", "number")[:limit])
    found = Q(number__istartswith=t) | Q(building__code__iexact=t) | Q(building__name__icontains=t)
    said = unit_q(user, t, site=site)
    if said is not None:
        found |= said
    return list(units.filter(found).order_by("building__code", "number")[:limit])
