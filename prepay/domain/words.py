"""Money in words (pure): 大写金额 as written on Chinese financial documents, and English.

Contract:

* :func:`chinese_uppercase` writes an amount (at most two decimals, at most 12 integer digits) the way
  《支付结算办法》 asks for cheques and receipts: 零壹贰叁肆伍陆柒捌玖 with 拾佰仟万亿, then 元, 角,
  分; ``整`` after 元 when there are no 角 or 分; one 零 for any run of zeros inside the number and
  after 元 when 角 is zero but 分 is not (``1,409.05`` → 壹仟肆佰零玖元零伍分); ten is 壹拾;
  a negative amount starts with 负.
* :func:`english_words` writes the same amount in English: "twelve thousand yuan and fifty fen".
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["chinese_uppercase", "english_words"]

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_IN_GROUP = ("", "拾", "佰", "仟")
_GROUPS = ("", "万", "亿", "万亿")


def _split(amount: Decimal) -> tuple[bool, int, int, int]:
    """(negative, whole yuan, jiao, fen) of an amount with at most two decimals."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError(f"not a finite Decimal: {amount!r}")
    fen_total = amount.scaleb(2)
    if fen_total != fen_total.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals")
    n = int(abs(fen_total))
    whole, cents = divmod(n, 100)
    if whole >= 10**16:
        raise ValueError(f"{amount} is too large to write in words")
    return amount < 0, whole, cents // 10, cents % 10


def _group(value: int) -> str:
    """One group of four digits (1–9999), without leading zeros, inner zeros as one 零."""
    out = ""
    pending_zero = False
    started = False
    for pos in (3, 2, 1, 0):
        d = value // 10**pos % 10
        if d == 0:
            pending_zero = pending_zero or started
            continue
        if pending_zero:
            out += "零"
            pending_zero = False
        out += _DIGITS[d] + _IN_GROUP[pos]
        started = True
    return out


def _chinese_whole(whole: int) -> str:
    groups = []
    while whole:
        whole, g = divmod(whole, 10000)
        groups.append(g)
    out = ""
    pending_zero = False
    for k in range(len(groups) - 1, -1, -1):
        g = groups[k]
        if g == 0:
            pending_zero = bool(out)
            continue
        if out and (g < 1000 or pending_zero):
            out += "零"
        out += _group(g) + _GROUPS[k]
        pending_zero = False
    return out


def chinese_uppercase(amount: Decimal) -> str:
    """大写金额 of ``amount`` (see the module docstring)."""
    negative, whole, jiao, fen = _split(amount)
    sign = "负" if negative and (whole or jiao or fen) else ""
    if not (whole or jiao or fen):
        return "零元整"
    out = _chinese_whole(whole) + "元" if whole else ""
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif fen and whole:
        out += "零"
    if fen:
        out += _DIGITS[fen] + "分"
    if not (jiao or fen):
        out += "整"
    return sign + out


_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))


def _under_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    parts = [f"{_ONES[hundreds]} hundred"] if hundreds else []
    if rest >= 20:
        parts.append(_TENS[rest // 10] + (f"-{_ONES[rest % 10]}" if rest % 10 else ""))
    elif rest:
        parts.append(_ONES[rest])
    return " ".join(parts)


def _english_number(n: int) -> str:
    if n == 0:
        return "zero"
    parts = []
    for size, name in _SCALES:
        if n >= size:
            parts.append(f"{_english_number(n // size)} {name}")
            n %= size
    if n:
        parts.append(_under_thousand(n))
    return " ".join(parts)


def english_words(amount: Decimal) -> str:
    """``amount`` in English words (see the module docstring)."""
    negative, whole, jiao, fen = _split(amount)
    cents = jiao * 10 + fen
    text = f"{_english_number(whole)} yuan" if whole or not cents else ""
    if cents:
        fen_text = f"{_english_number(cents)} fen"
        text = f"{text} and {fen_text}" if text else fen_text
    return ("minus " if negative and (whole or cents) else "") + text
