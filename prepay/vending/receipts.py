"""Receipts: what a receipt shows, its verification signature and QR code, HTML and PDF rendering.

One function, :func:`receipt_context`, gathers everything a receipt shows from a Receipt and its Vend
(or Reversal); the HTML print view, the PDF and the ESC/POS bytes (prepay/vending/escpos.py) all
render that same dict, so the three never disagree.

Verification: a receipt's QR code encodes ``/r/<code>/?s=<signature>``, where the signature is a
salted HMAC-SHA256 (key: ``settings.SECRET_KEY``) over the receipt code, the amount and the token(s).
The public verification page recomputes it from the stored rows: a forged code, a tampered
signature or a changed amount or token in the database all fail the comparison.

Nothing here writes: printing a receipt again goes through ``do_reprint_receipt`` in actions.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from decimal import Decimal
from typing import Any

import segno
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from prepay.tokens.models import TokenKind
from prepay.vending.models import Delivery, LedgerEntry, Receipt, Reversal, ReversalKind, Vend

#: paper formats of the print view and the PDF: A4 / A5 sheets and 58 / 80 mm thermal rolls
PAPERS = ("a4", "a5", "58", "80")
DEFAULT_PAPER = "a5"
_SALT = "prepay.vending.receipt.v1"
#: pure-Python fallback names for breakdown keys whose label was left at the engine's default
_DEFAULT_LABELS = {"quota", "flat", "tou"}


# ---------------------------------------------------------------------------------------------------
# small formatting helpers (shared with escpos.py)


def token_groups(token: str) -> str:
    """A 20-digit token in groups of four: ``1234 5678 9012 3456 7890``."""
    digits = "".join(ch for ch in token if ch.isdigit())
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def mask_name(name: str) -> str:
    """Keep the first character of each word and mask the rest: 张三丰 → 张**, Li Wei → L* W**."""
    return " ".join(word[:1] + "*" * (len(word) - 1) for word in name.split())


def fmt_money(value: Decimal | str | None) -> str:
    """``¥12.30`` (two places); empty for None."""
    if value is None or value == "":
        return ""
    return f"¥{Decimal(value):.2f}"


def fmt_energy(value: Decimal | str | None, unit: str) -> str:
    """``85.034 kWh``: three places (the stored resolution), then the unit."""
    if value is None or value == "":
        return ""
    return f"{Decimal(value):.3f} {unit}"


def _unit_symbol(unit: str) -> str:
    return "m³" if unit in ("m3", "m³") else "kWh"


def _person(user: Any) -> str:
    if user is None:
        return ""
    return str(user.get_full_name() or user.get_username())


def account_of(receipt: Receipt) -> Any:
    """The account a receipt is for: its vend's, its reversal's or its carried credit's."""
    if receipt.vend_id is not None:
        return receipt.vend.account  # type: ignore[union-attr]
    if receipt.delivery_id is not None:
        return receipt.delivery.account  # type: ignore[union-attr]
    return receipt.reversal.account  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------------
# signature and verification URL


def _tokens_of(receipt: Receipt) -> list[str]:
    """The 20-digit tokens a receipt carries: the credit tokens of a vend in TID order, or for a
    reversal the clear-credit token issued when it was approved."""
    if receipt.vend_id is not None:
        vend = receipt.vend
        assert vend is not None
        return [t.token for t in vend.tokens.filter(kind=TokenKind.CREDIT).order_by("tid", "pk")]
    if receipt.delivery_id is not None:
        delivery = receipt.delivery
        assert delivery is not None
        return [t.token for t in delivery.tokens.filter(kind=TokenKind.CREDIT).order_by("tid", "pk")]
    reversal = receipt.reversal
    if reversal is None or reversal.clear_token_id is None:
        return []
    assert reversal.clear_token is not None
    return [reversal.clear_token.token]


def _amount_of(receipt: Receipt) -> Decimal:
    if receipt.vend is not None:
        return receipt.vend.amount
    if receipt.delivery_id is not None:
        return Decimal("0.00")  # credit carried over at a meter replacement: no money
    assert receipt.reversal is not None
    return receipt.reversal.amount


def signature(code: str, amount: Decimal, tokens: list[str]) -> str:
    """The receipt signature: HMAC-SHA256 keyed by a salted SECRET_KEY over code, amount and tokens,
    cut to 96 bits and base32-encoded (20 characters, QR-friendly: upper case and digits)."""
    key = hashlib.sha256(force_bytes(_SALT + settings.SECRET_KEY)).digest()
    message = "|".join([code, f"{Decimal(amount):.2f}", ",".join(tokens)])
    digest = hmac.new(key, force_bytes(message), hashlib.sha256).digest()[:12]
    return base64.b32encode(digest).decode().rstrip("=")


def receipt_signature(receipt: Receipt) -> str:
    """The signature of ``receipt`` as stored now (code, amount and tokens read from the database)."""
    return signature(receipt.code, _amount_of(receipt), _tokens_of(receipt))


def check_signature(receipt: Receipt, given: str) -> bool:
    """True when ``given`` is the signature of the receipt as stored (constant-time comparison)."""
    return hmac.compare_digest(receipt_signature(receipt), (given or "").strip().upper())


def verify_path(receipt: Receipt) -> str:
    """The verification page's path with the signature: ``/r/<code>/?s=<signature>``."""
    return f"{reverse('receipts:verify', args=[receipt.code])}?s={receipt_signature(receipt)}"


def verify_url(receipt: Receipt, request: Any = None) -> str:
    """The absolute verification URL printed in the QR code.

    The host comes from ``settings.PREPAY_PUBLIC_URL`` (the address customers reach, e.g.
    ``https://pay.example.cn``) when set, else from the request, else the path alone.
    """
    path = verify_path(receipt)
    base = str(getattr(settings, "PREPAY_PUBLIC_URL", "") or "").rstrip("/")
    if base:
        return base + path
    if request is not None:
        return str(request.build_absolute_uri(path))
    return path


def qr_svg(data: str) -> SafeString:
    """An inline SVG QR code (error correction M) for HTML and PDF."""
    svg = segno.make(data, error="m").svg_inline(border=2, omitsize=True)
    return mark_safe(svg)  # noqa: S308 - generated by segno from our own URL, no user markup


# ---------------------------------------------------------------------------------------------------
# the context


def _line_label(key: str, label: str, unit: str = "kWh") -> str:
    """A breakdown line's label in the active language: the engine's default names are translated,
    labels an administrator wrote into the tariff are shown as written; water (``unit`` m³) is
    spoken of as water."""
    if key.startswith("tier:") and label == f"tier {key.split(':', 1)[1]}":
        return _("Tier %(n)s") % {"n": key.split(":", 1)[1]}
    if key.startswith("period:") and label in ("", key.split(":", 1)[1]):
        period = key.split(":", 1)[1]
        names = {
            "sharp": _("Sharp period"),
            "peak": _("Peak period"),
            "flat": _("Flat period"),
            "valley": _("Valley period"),
        }
        return names.get(period, label or period)
    if key in _DEFAULT_LABELS and label in ("", key):
        if unit == "m³":
            return {"quota": _("Flat-price water"), "flat": _("Water volume"), "tou": _("Time of use")}[key]
        return {"quota": _("Flat-price energy"), "flat": capfirst(_("energy")), "tou": _("Time of use")}[key]
    return label or key


def _breakdown(data: dict[str, Any], unit: str) -> dict[str, Any]:
    """The tariff quote (``Quote.to_dict()``) as display rows; empty when the vend has none."""
    if not data:
        return {"lines": [], "fixed": [], "vat_amount": "", "vat_rate": "", "vat_included": True}
    rate = Decimal(str(data.get("vat_rate") or "0"))
    return {
        "lines": [
            {
                "label": _line_label(str(line.get("key", "")), str(line.get("label", "")), unit),
                "energy": fmt_energy(line.get("energy"), unit),
                "price": f"¥{Decimal(str(line.get('price', '0'))).normalize():f}/{unit}",
                "amount": fmt_money(line.get("amount")),
            }
            for line in data.get("lines", [])
        ],
        "fixed": [{"label": f["name"], "amount": fmt_money(f["amount"])} for f in data.get("fixed", [])],
        "net_amount": fmt_money(data.get("net_amount")),
        "vat_amount": fmt_money(data.get("vat_amount")),
        "vat_rate": f"{(rate * 100).normalize():f}%" if rate else "",
        "vat_included": bool(data.get("vat_included", True)),
        "total": fmt_money(data.get("total")),
    }


def breakdown_rows(data: dict[str, Any], unit: str) -> dict[str, Any]:
    """The tariff quote (``Quote.to_dict()``) as the receipt shows it (labels translated, ¥ and the
    unit beside each figure): for screens that show a quote before it is sold (the counter's review)."""
    return _breakdown(data, _unit_symbol(unit))


def balance_after_vend(vend: Vend, receipt: Receipt) -> Decimal | None:
    """The account balance right after ``vend`` (remote fee control).

    ``do_vend`` posts its entries with the keys ``<key>:pay`` and ``<key>:vend``: the newest of those
    is exact. Without them (rows written by other means) it is the newest entry of the account written
    no later than the receipt; the account row lock serialises an account's vends.
    """
    entries = LedgerEntry.objects.filter(account_id=vend.account_id).order_by("-seq")
    if vend.idempotency_key:
        keys = [f"{vend.idempotency_key}:pay", f"{vend.idempotency_key}:vend"]
        own = entries.filter(idempotency_key__in=keys).values_list("balance_after", flat=True).first()
        if own is not None:
            return own
    return entries.filter(created_at__lte=receipt.issued_at).values_list("balance_after", flat=True).first()


def _vend_facts(vend: Vend, receipt: Receipt) -> dict[str, Any]:
    unit = _unit_symbol(str((vend.breakdown or {}).get("unit") or ""))
    if not (vend.breakdown or {}).get("unit") and vend.account.utility == "water":
        unit = "m³"
    tokens = [token_groups(t) for t in _tokens_of(receipt)]
    water = vend.account.utility == "water"
    facts: dict[str, Any] = {
        "unit": unit,
        "water": water,
        "amount": fmt_money(vend.amount),
        "tendered": fmt_money(vend.tendered),
        "change": fmt_money(vend.change),
        "arrears_recovered": fmt_money(vend.arrears_recovered) if vend.arrears_recovered else "",
        "credit_amount": fmt_money(vend.credit_amount),
        "energy": fmt_energy(vend.energy, unit),
        "multiplier": vend.multiplier,
        "register_units": fmt_energy(vend.register_units, unit) if vend.multiplier != 1 else "",
        "breakdown": _breakdown(vend.breakdown or {}, unit),
        "method": vend.get_method_display(),
        "reference": vend.reference,
        "delivery": vend.delivery,
        "tokens": tokens,
        "delivery_note": "",
        "balance": "",
        "card_sequence": None,
        "status": vend.status,
        "status_display": vend.get_status_display() if vend.status != "completed" else "",
    }
    if vend.delivery == Delivery.TOKEN:
        keypad = (
            _("Enter the token(s) on the water meter's keypad, in this order.")
            if water
            else _("Enter the token(s) on the meter keypad, in this order.")
        )
        facts["delivery_note"] = keypad if tokens else ""
    elif vend.delivery == Delivery.CARD:
        card = getattr(vend, "card", None)  # reverse one-to-one: AttributeError subclass when absent
        facts["card_sequence"] = card.sequence if card is not None else None
        facts["delivery_note"] = (
            _("Water written to the IC card: insert the card into the water meter to load it.")
            if water
            else _("Credit written to the IC card: insert the card into the meter to load it.")
        )
    elif vend.delivery == Delivery.REMOTE:
        facts["delivery_note"] = _("Credit sent to the meter remotely.")
    elif vend.delivery == Delivery.BALANCE:
        facts["balance"] = fmt_money(balance_after_vend(vend, receipt))
        facts["delivery_note"] = _("Credit added to the account balance (remote fee control).")
    return facts


def _settlement_facts(reversal: Reversal, kind: str) -> dict[str, str]:
    """Title and "money back" line of a reversal or refund slip: a **void** (approved while the sale's
    shift was open: paid back at the counter) reads differently from a **refund paid by finance**."""
    from prepay.vending.reversals import Settlement, settlement_of

    settlement = settlement_of(reversal)
    if kind == "refund":
        title = _("Refund receipt")
    elif settlement == Settlement.VOID:
        title = _("Void receipt")
    elif settlement == Settlement.FINANCE:
        title = _("Reversal receipt: refunded by finance")
    else:
        title = _("Reversal receipt")
    shown = str(Settlement(settlement).label) if settlement else ""
    return {"title": title, "settlement": settlement, "settlement_display": shown}


def _rows(ctx: dict[str, Any]) -> list[tuple[str, str]]:
    """The receipt's label/value rows in print order (the same rows on paper, in PDF and in ESC/POS)."""
    rows: list[tuple[str, str]] = [
        (_("Receipt no."), ctx["code"]),
        (_("Date"), ctx["issued_at_display"]),
        (_("Water sales point") if ctx.get("water") else _("Vending point"), ctx["point"]),
        (_("Operator"), ctx["operator"]),
        (capfirst(_("customer")), ctx["customer_name"]),
        (capfirst(_("account number")), ctx["account_number"]),
    ]
    if ctx["unit_label"]:
        rows.append((_("Unit"), ctx["unit_label"]))
    if ctx["meter_serial"]:
        rows.append((_("Meter no."), ctx["meter_serial"]))
    if ctx["kind"] == "carried":
        from prepay.vending.carried_receipts import carried_rows

        rows += carried_rows(ctx)
    elif ctx["kind"] == "vend":
        rows.append((_("Payment method"), ctx["method"]))
        if ctx["reference"]:
            rows.append((_("Payment reference"), ctx["reference"]))
        rows.append((_("Amount paid"), ctx["amount"]))
        if ctx.get("tendered"):
            rows.append((_("Cash tendered"), ctx["tendered"]))
            rows.append((_("Change due"), ctx["change"]))
        if ctx["arrears_recovered"]:
            rows.append((_("Arrears recovered"), ctx["arrears_recovered"]))
        water = ctx.get("water", False)
        rows.append((_("Water amount") if water else _("Credit amount"), ctx["credit_amount"]))
        if ctx["energy"]:
            rows.append((_("Water purchased") if water else _("Energy purchased"), ctx["energy"]))
        if ctx["register_units"]:
            rows.append((_("Multiplier (CT × PT)"), str(ctx["multiplier"])))
            rows.append((_("Register units loaded"), ctx["register_units"]))
        if ctx["breakdown"]["vat_amount"]:
            rows.append((_("VAT"), ctx["breakdown"]["vat_amount"]))
        if ctx["balance"]:
            rows.append((_("New balance"), ctx["balance"]))
        if ctx["card_sequence"] is not None:
            rows.append((_("Card purchase no."), str(ctx["card_sequence"])))
    else:
        if ctx["settlement_display"]:
            rows.append((_("Money back"), ctx["settlement_display"]))
        rows.append((_("Paid back by"), ctx["method"]))
        rows.append(
            (_("Amount returned") if ctx["kind"] == "refund" else _("Amount reversed"), ctx["amount"])
        )
        if ctx["reason"]:
            rows.append((capfirst(_("reason")), ctx["reason"]))
        if ctx["reversed"]:
            rows.append((_("Reverses receipt"), ctx["reversed"]["code"]))
            rows.append((_("Original amount"), ctx["reversed"]["amount"]))
            if ctx["reversed"]["energy"]:
                rows.append((_("Original energy"), ctx["reversed"]["energy"]))
            rows.append((_("Token entered on the meter"), ctx["reversed"]["token_entered"]))
    return rows


def receipt_context(receipt: Receipt, *, request: Any = None) -> dict[str, Any]:
    """Everything a receipt shows, as display strings, for HTML, PDF and ESC/POS alike.

    Keys (all strings unless noted): ``code``, ``kind`` (vend / reversal / refund), ``title``,
    ``group``, ``site``, ``point``, ``issued_at`` (aware datetime, local time), ``issued_at_display``,
    ``operator``, ``customer_name``, ``customer_name_masked``, ``account_number``, ``unit_label``,
    ``meter_serial``, ``method``, ``reference``, ``amount``, ``arrears_recovered``, ``credit_amount``,
    ``energy``, ``unit`` (kWh / m³), ``multiplier`` (int), ``register_units`` (only when the multiplier
    is not 1), ``breakdown`` (dict of ``lines``, ``fixed``, ``vat_rate``, ``vat_amount``, ``total``),
    ``tokens`` (list, in groups of four), ``delivery``, ``delivery_note``, ``balance``,
    ``card_sequence`` (int or None), ``reprint`` (``Receipt.prints``: 0 for the original, n for the
    n-th re-print counted by ``do_reprint_receipt``), ``reprint_label`` ("REPRINT n" or empty),
    ``reversed`` (dict describing the reversed vend, or None), ``reason``, ``status_display``,
    for reversals and refunds ``settlement`` / ``settlement_display`` (void at the counter, refund paid
    by finance, agent float: ``prepay.vending.reversals.Settlement``; the title says which),
    ``verify_url``, ``qr_svg`` (safe inline SVG), ``rows`` (list of (label, value)).
    """
    receipt = (
        Receipt.objects.select_related(
            "point__site__group",
            "issued_by",
            "vend__account__customer",
            "vend__account__unit__building",
            "vend__meter",
            "vend__created_by",
            "reversal__account__customer",
            "reversal__account__unit__building",
            "reversal__vend__meter",
            "reversal__vend__receipt",
            "reversal__requested_by",
            "delivery__account__customer",
            "delivery__account__unit__building",
            "delivery__meter",
            "delivery__created_by",
            "delivery__installation",
            "delivery__card",
        ).get(pk=receipt.pk)
        if receipt.pk
        else receipt
    )
    vend: Vend | None = receipt.vend
    reversal: Reversal | None = receipt.reversal
    account = account_of(receipt)
    issued_at = timezone.localtime(receipt.issued_at)
    ctx: dict[str, Any] = {
        "receipt": receipt,
        "code": receipt.code,
        "group": receipt.point.site.group.name,
        "site": receipt.point.site.name,
        "point": receipt.point.name,
        "issued_at": issued_at,
        "issued_at_display": issued_at.strftime("%Y-%m-%d %H:%M:%S"),
        "customer_name": account.customer.name,
        "customer_name_masked": mask_name(account.customer.name),
        "account_number": account.number,
        "unit_label": str(account.unit) if account.unit_id else "",
        "reprint": receipt.prints,  # do_reprint_receipt counts re-prints: 0 is the original
        "reversed": None,
        "reason": "",
    }
    if receipt.delivery_id is not None:
        from prepay.vending.carried_receipts import carried_facts

        ctx.update(carried_facts(receipt))
    elif vend is not None:
        ctx["kind"] = "vend"
        ctx["title"] = (
            _("Water purchase receipt") if vend.account.utility == "water" else _("Purchase receipt")
        )
        ctx["operator"] = _person(vend.created_by) or _person(receipt.issued_by)
        ctx["meter_serial"] = vend.meter.serial if vend.meter is not None else ""
        ctx.update(_vend_facts(vend, receipt))
    else:
        assert reversal is not None
        ctx["kind"] = "refund" if reversal.kind == ReversalKind.REFUND else "reversal"
        ctx.update(_settlement_facts(reversal, ctx["kind"]))
        ctx["operator"] = _person(receipt.issued_by) or _person(reversal.requested_by)
        ctx["reason"] = reversal.reason
        ctx["method"] = reversal.get_method_display()
        ctx["amount"] = fmt_money(reversal.amount)
        original = reversal.vend
        ctx["meter_serial"] = original.meter.serial if original is not None and original.meter else ""
        tokens = [token_groups(t) for t in _tokens_of(receipt)]
        ctx.update(
            unit="kWh",
            tokens=tokens,
            breakdown=_breakdown({}, "kWh"),
            delivery="",
            delivery_note=_("Enter the clear-credit token on the meter: it removes the reversed credit.")
            if tokens
            else "",
            balance="",
            card_sequence=None,
            status_display="",
            reference="",
            energy="",
            register_units="",
            multiplier=1,
        )
        if original is not None:
            unit = _unit_symbol(str((original.breakdown or {}).get("unit") or ""))
            original_receipt = getattr(original, "receipt", None)
            ctx["reversed"] = {
                "code": original_receipt.code if original_receipt else original.receipt_no,
                "amount": fmt_money(original.amount),
                "energy": fmt_energy(original.energy, unit),
                "issued_at": timezone.localtime(original.created_at).strftime("%Y-%m-%d %H:%M"),
                "token_entered": {True: _("yes"), False: _("no"), None: _("unknown")}[reversal.token_entered],
            }
    ctx["reprint_label"] = _("REPRINT %(n)s") % {"n": ctx["reprint"]} if ctx["reprint"] else ""
    ctx["verify_url"] = verify_url(receipt, request)
    ctx["qr_svg"] = qr_svg(ctx["verify_url"])
    ctx["rows"] = _rows(ctx)
    ctx["labels"] = {
        "breakdown": _("Water price breakdown") if ctx.get("water") else _("Tariff breakdown"),
        "tokens": _("Token") if len(ctx["tokens"]) == 1 else _("Tokens"),
        "verify": _("Scan to verify this receipt"),
        "item": _("Item"),
        "energy": _("Water volume") if ctx.get("water") else capfirst(_("energy")),
        "price": _("Price"),
        "amount": capfirst(_("amount")),
        "vat_included": _("VAT included"),
        "vat_added": _("VAT added"),
        "thanks": _("Thank you. Keep this receipt."),
    }
    return ctx


# ---------------------------------------------------------------------------------------------------
# HTML and PDF


def paper_of(value: str | None) -> str:
    """A supported paper name (``a4``, ``a5``, ``58``, ``80``) from a query value; A5 otherwise."""
    value = (value or "").strip().lower().removesuffix("mm")
    return value if value in PAPERS else DEFAULT_PAPER


def render_receipt_html(
    receipt: Receipt,
    *,
    paper: str = DEFAULT_PAPER,
    autoprint: bool = False,
    pdf: bool = False,
    request: Any = None,
) -> str:
    """The print view's HTML (template ``vending/receipt.html``)."""
    ctx = receipt_context(receipt, request=request)
    ctx.update(paper=paper_of(paper), autoprint=autoprint and not pdf, pdf=pdf)
    return render_to_string("vending/receipt.html", ctx, request=request)


def render_receipt_pdf(receipt: Receipt, *, paper: str = DEFAULT_PAPER, request: Any = None) -> bytes:
    """The receipt as a PDF (WeasyPrint), with a CJK font so Chinese text renders.

    The stylesheet is read from the static files (``css/receipt.css``) rather than fetched over HTTP.
    """
    from weasyprint import CSS, HTML  # heavy import, only when a PDF is asked for

    html = render_receipt_html(receipt, paper=paper, pdf=True, request=request)
    css_path = finders.find("css/receipt.css")
    stylesheets = [CSS(filename=str(css_path))] if css_path else []
    pdf = HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(stylesheets=stylesheets)
    return bytes(pdf or b"")


def render_receipt_escpos(
    receipt: Receipt, *, width_mm: int = 58, native_qr: bool = True, request: Any = None
) -> bytes:
    """ESC/POS bytes for a 58 mm (32 columns) or 80 mm (48 columns) printer; see escpos.py."""
    from prepay.vending.escpos import render_escpos

    return render_escpos(receipt_context(receipt, request=request), width_mm=width_mm, native_qr=native_qr)
