"""Pinyin initials of customer names, for finding a customer by typing ``zs`` for 张三.

The initials are computed once, when a name is written (``Customer.save``, hence every customer
action and import), and stored in ``Customer.name_initials``; a search never converts names.

Stored form: each way of reading the name, prefixed by a space — `` zs`` for 张三, `` cxm zxm`` for
曾小明 (a surname read two ways: 曾 is zēng as a surname, céng elsewhere). A search for ``zx`` is
then ``name_initials`` containing `` zx``: it matches from the start of one reading only.
"""

from __future__ import annotations

import re

from pypinyin import Style, pinyin

#: the most readings kept for one name (a polyphonic surname gives a few; the rest are read once)
MAX_READINGS = 4


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def initials_of(name: str) -> str:
    """The stored initials of ``name`` (see the module docstring): Chinese characters give the first
    letter of their pinyin, Latin words their first letter; digits and signs are skipped. The first
    Chinese character (the surname) is read every way pypinyin knows it, up to ``MAX_READINGS``.
    Empty for a name without letters or Chinese characters."""
    readings = [""]
    first_han = True
    for chunk in re.findall(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z]+", name or ""):
        if not _is_han(chunk):
            readings = [r + chunk[0].lower() for r in readings]
            continue
        letters = [p[0].lower() for p in pinyin(chunk, style=Style.FIRST_LETTER, heteronym=first_han)[0] if p]
        letters = list(dict.fromkeys(letters)) or [""]
        if not first_han:
            letters = letters[:1]
        first_han = False
        readings = [r + letter for r in readings for letter in letters][:MAX_READINGS]
    return "".join(f" {r}" for r in dict.fromkeys(readings) if r)


def looks_like_initials(text: str) -> bool:
    """True for what may be typed as initials: 2 to 12 Latin letters and nothing else."""
    return bool(re.fullmatch(r"[A-Za-z]{2,12}", text or ""))
