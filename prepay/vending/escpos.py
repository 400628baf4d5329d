"""ESC/POS receipts for 58 mm (32 columns) and 80 mm (48 columns) thermal printers.

Built with python-escpos on a ``Dummy`` printer that collects the bytes; the counter sends them to the
printer (USB / serial / network) or offers them as a download. Chinese text is sent in the printer's
Chinese character mode (``FS &``) encoded as GB18030, which the common Chinese thermal printers
(Xprinter, Gprinter, Epson TM-T82 CN …) understand; a full-width character takes two columns, so every
line is laid out by display width, never by ``len()``.

The layout is plain text padded by us (only the header and the QR code use the printer's centring),
so each printed line is at most the paper's column count.
"""

from __future__ import annotations

from typing import Any

from escpos.printer import Dummy

#: paper width in mm -> printable columns of Font A (12 × 24 dots)
COLUMNS = {58: 32, 80: 48}
ENCODING = "gb18030"
FS_CHINESE_ON = b"\x1c\x26"  # FS &: Chinese (double-byte) character mode
ESC_BOLD_ON, ESC_BOLD_OFF = b"\x1b\x45\x01", b"\x1b\x45\x00"
GS_SIZE_TALL, GS_SIZE_NORMAL = b"\x1d\x21\x01", b"\x1d\x21\x00"  # double height, normal width
ESC_ALIGN_LEFT, ESC_ALIGN_CENTER = b"\x1b\x61\x00", b"\x1b\x61\x01"


#: characters GBK printers lack or print double width, replaced before layout (¥ is only in GB18030's
#: four-byte range, which many printers' fonts do not cover; ³ is missing from GBK)
_PRINTABLE = str.maketrans({"¥": "￥", "×": "x", "³": "3", "²": "2", "·": "-", "…": "..."})


def printable(text: str) -> str:
    """``text`` with the characters a GBK thermal printer cannot print replaced by ones it can."""
    return text.translate(_PRINTABLE)


def display_width(text: str) -> int:
    """Columns ``text`` takes on the printer in Chinese mode: ASCII takes one, every double-byte
    (GB18030) character two — including the "ambiguous" ones such as ×, which a Western font would
    draw narrow."""
    return sum(1 if ord(ch) < 128 else 2 for ch in text)


def wrap(text: str, width: int) -> list[str]:
    """Split ``text`` (made :func:`printable`) into lines of at most ``width`` columns, at spaces where possible."""
    lines: list[str] = []
    for paragraph in printable(text).splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if display_width(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for ch in word:  # a word longer than the line (or CJK text without spaces): cut anywhere
                if display_width(line + ch) > width:
                    lines.append(line)
                    line = ""
                line += ch
        lines.append(line)
    return lines


def center(text: str, width: int) -> list[str]:
    """``text`` wrapped and centred by padding with spaces."""
    return [" " * ((width - display_width(line)) // 2) + line for line in wrap(text, width)]


def pair(label: str, value: str, width: int) -> list[str]:
    """``label`` on the left and ``value`` on the right of one line, or on two lines when too long."""
    label, value = printable(label), printable(value)
    gap = width - display_width(label) - display_width(value)
    if gap >= 1:
        return [label + " " * gap + value]
    out = wrap(label, width)
    for line in wrap(value, width):
        out.append(" " * (width - display_width(line)) + line)
    return out


def receipt_lines(ctx: dict[str, Any], width: int) -> list[str]:
    """The receipt as text lines of at most ``width`` columns (no QR code, no printer commands)."""
    rule = "-" * width
    lines: list[str] = []
    lines += center(ctx["site"], width)
    lines += center(ctx["title"], width)
    if ctx["reprint_label"]:
        lines += center(f"*** {ctx['reprint_label']} ***", width)
    if ctx.get("status_display"):
        lines += center(f"[{ctx['status_display']}]", width)
    lines.append(rule)
    for label, value in ctx["rows"]:
        lines += pair(label, str(value), width)
    breakdown = ctx["breakdown"]
    if breakdown["lines"] or breakdown["fixed"]:
        lines.append(rule)
        lines += wrap(ctx["labels"]["breakdown"], width)
        for item in breakdown["lines"]:
            lines += pair(item["label"], item["amount"], width)
            lines += pair("", f"{item['energy']} × {item['price']}", width)
        for item in breakdown["fixed"]:
            lines += pair(item["label"], item["amount"], width)
        if breakdown["vat_amount"]:
            vat = ctx["labels"]["vat_included"] if breakdown["vat_included"] else ctx["labels"]["vat_added"]
            lines += pair(f"{vat} {breakdown['vat_rate']}".strip(), breakdown["vat_amount"], width)
    return lines


def render_escpos(ctx: dict[str, Any], *, width_mm: int = 58, native_qr: bool = True) -> bytes:
    """ESC/POS bytes for a receipt context (see ``receipts.receipt_context``).

    Sequence: initialise (``ESC @``), Chinese mode, the text lines, the token(s) in bold double height,
    the delivery note, a QR code of the verification URL (the printer's native QR command), the
    thanks line, feed and a full cut (``GS V``). ``native_qr=False`` sends the QR code as a raster
    image (``GS v 0``) for printers without the QR command. Raises ValueError for a width other than
    58 or 80.
    """
    if width_mm not in COLUMNS:
        raise ValueError(f"paper width must be 58 or 80 mm, not {width_mm}")
    width = COLUMNS[width_mm]
    p = Dummy()
    p.hw("INIT")
    p._raw(FS_CHINESE_ON + ESC_ALIGN_LEFT)

    def emit(lines: list[str]) -> None:
        p._raw("".join(line + "\n" for line in lines).encode(ENCODING, errors="replace"))

    emit(receipt_lines(ctx, width))
    if ctx["tokens"]:
        emit(["-" * width, *wrap(ctx["labels"]["tokens"], width)])
        for token in ctx["tokens"]:
            p._raw(ESC_BOLD_ON + GS_SIZE_TALL)
            emit(center(token, width))
            p._raw(GS_SIZE_NORMAL + ESC_BOLD_OFF)
    if ctx["delivery_note"]:
        emit(["-" * width, *wrap(ctx["delivery_note"], width)])
    emit(["-" * width])
    p._raw(ESC_ALIGN_CENTER)
    p.qr(ctx["verify_url"], native=native_qr, size=4 if width_mm == 58 else 6)
    emit(center(ctx["labels"]["verify"], width))
    emit(center(ctx["labels"]["thanks"], width))
    p._raw(ESC_ALIGN_LEFT)
    p.cut(mode="FULL", feed=True)
    return bytes(p.output)
