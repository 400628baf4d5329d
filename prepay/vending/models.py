"""The customer ledger and vends.

Balances are never mutable fields: every movement is a LedgerEntry with ``balance_after``, written
under a row lock on the account; ``prepay db check`` proves each account's newest ``balance_after``
equals the sum of its entries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from prepay.audit.marker import current_txn
from prepay.common.fields import EnergyField, MoneyField
from prepay.tenancy.models import ScopedManager
from prepay.vending.printer_address import PrinterConnection, check_address


class EntryKind(models.TextChoices):
    PAYMENT = "payment", _("Payment")
    VEND = "vend", _("Vend")
    CHARGE = "charge", _("Consumption charge")
    FEE = "fee", _("Fee")
    ADJUSTMENT = "adjustment", _("Adjustment")
    CREDIT_RETURN = "credit_return", _("Credit returned from meter")
    REFUND = "refund", _("Refund")
    REVERSAL = "reversal", _("Reversal")
    TRANSFER = "transfer", _("Transfer settlement")


class LedgerEntry(models.Model):
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="ledger", verbose_name=_("account")
    )
    seq = models.PositiveIntegerField(_("sequence"))
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    amount = MoneyField(_("amount"), help_text=_("Positive credits the account, negative debits it."))
    balance_after = MoneyField(_("balance after"))
    energy = EnergyField(_("energy"), null=True, blank=True)
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=80, null=True, blank=True, unique=True
    )
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        verbose_name=_("reverses"),
    )
    # indexed: reports and the dashboard read the ledger by period (recovery rate, journal sums)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("by")
    )
    # the marker of the writing transaction, also on its audit events (prepay db check links them);
    # NULL on rows written before it existed and on rows written around the ORM
    audit_txn = models.CharField(max_length=16, null=True, blank=True, editable=False, default=current_txn)  # noqa: DJ001

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["account", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["account", "seq"], name="ledger_seq_unique_per_account")
        ]

    def __str__(self) -> str:
        return f"{self.account} #{self.seq} {self.amount}"


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    CARD = "card", _("Bank card")
    TRANSFER = "transfer", _("Bank transfer")
    ONLINE = "online", _("Online payment")


class PointKind(models.TextChoices):
    COUNTER = "counter", _("Vending counter")
    AGENT = "agent", _("Partner agent")
    ONLINE = "online", _("Online channel")


class VendingPoint(models.Model):
    """Where money is taken: a counter, a partner agent or an online channel (支付渠道).

    Receipt numbers are gap-free per point: ``receipt_counter`` is incremented under the point's row
    lock in the transaction that writes the receipt. Agents may hold a float (``AgentFloatEntry``
    ledger) and a credit limit: their vends draw on the float and stop at ``-credit_limit``.
    """

    site = models.ForeignKey(
        "tenancy.Site", on_delete=models.PROTECT, related_name="vending_points", verbose_name=_("site")
    )
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=8, choices=PointKind.choices, default=PointKind.COUNTER)
    uses_float = models.BooleanField(
        _("draws on a float"), default=False, help_text=_("Agents pay in advance; vends draw on the float.")
    )
    credit_limit = MoneyField(_("credit limit"), default=0)
    receipt_prefix = models.CharField(
        _("receipt prefix"),
        max_length=12,
        blank=True,
        validators=[RegexValidator(r"^[A-Za-z0-9-]*$", _("Letters, digits and hyphens only."))],
        help_text=_("Printed before each receipt number; unique. Empty: the point's code and id."),
    )
    receipt_counter = models.PositiveBigIntegerField(_("last receipt number"), default=0, editable=False)
    # the float's position: its newest entry's seq and balance (0, 0 before the first), moved by the
    # statement that writes past it (``prepay.vending.points``) so a sale reads no float entry
    float_seq = models.PositiveBigIntegerField(_("last float entry"), default=0, editable=False)
    float_balance = MoneyField(_("float balance"), default=0, editable=False)
    active = models.BooleanField(_("active"), default=True)
    # the counter's thermal receipt printer (prepay/vending/printing.py)
    printer_connection = models.CharField(
        _("receipt printer"), max_length=12, choices=PrinterConnection.choices, blank=True, default=""
    )
    printer = models.CharField(
        _("printer address"),
        max_length=120,
        blank=True,
        help_text=_(
            "Network: host:port, e.g. 192.168.1.50:9100. USB on the server: the device file, e.g. /dev/usb/lp0."
        ),
    )
    paper_width = models.PositiveSmallIntegerField(
        _("paper width"), choices=[(58, "58 mm"), (80, "80 mm")], default=58
    )

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("vending point")
        verbose_name_plural = _("vending points")
        ordering = ["site", "code"]
        constraints = [
            models.UniqueConstraint(fields=["site", "code"], name="vending_point_code_unique"),
            # receipt codes are looked up platform-wide (the QR verify page), so prefixes never repeat
            models.UniqueConstraint(
                fields=["receipt_prefix"],
                condition=~models.Q(receipt_prefix=""),
                name="receipt_prefix_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(credit_limit__gte=0), name="point_credit_limit_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    #: columns only the statements that take a receipt number or write a float entry move
    POSITION_FIELDS = ("receipt_counter", "float_seq", "float_balance")

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Editing a point never writes its positions (``POSITION_FIELDS``): only the sale that takes a
        number (``update_fields=["receipt_counter"]`` under the point's lock, or ``UPDATE … RETURNING``)
        and the float's entries move them, so a form holding an older copy cannot turn them back."""
        if self.pk and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            kwargs["update_fields"] = [
                f.attname
                for f in self._meta.concrete_fields
                if not f.primary_key and f.attname not in self.POSITION_FIELDS
            ]
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """The printer address must suit its connection (see ``prepay.vending.printer_address``)."""
        problem = check_address(self.printer_connection, self.printer)
        if problem:
            raise ValidationError({"printer": problem})


class ShiftStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Shift(models.Model):
    """A cashier's shift at a point: opened, sold in, closed with the cash counted (交班/扎帐).

    ``expected``, ``declared`` and ``difference`` map payment method → money (strings), fixed when the
    shift closes.
    """

    point = models.ForeignKey(
        VendingPoint, on_delete=models.PROTECT, related_name="shifts", verbose_name=_("vending point")
    )
    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("cashier")
    )
    status = models.CharField(
        _("status"), max_length=8, choices=ShiftStatus.choices, default=ShiftStatus.OPEN
    )
    opening_float = MoneyField(_("opening cash float"), default=0)
    opened_at = models.DateTimeField(_("opened at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    expected = models.JSONField(_("expected"), default=dict, blank=True)
    declared = models.JSONField(_("declared"), default=dict, blank=True)
    difference = models.JSONField(_("difference"), default=dict, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = ScopedManager()
    scope_group = "point__site__group"
    scope_site: str | None = "point__site"

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["cashier"], condition=models.Q(status="open"), name="one_open_shift_per_cashier"
            )
        ]

    def __str__(self) -> str:
        return f"{self.point} {self.cashier} {self.opened_at:%Y-%m-%d %H:%M}"


class Delivery(models.TextChoices):
    TOKEN = "token", _("STS / keypad token")
    CARD = "card", _("IC card")
    REMOTE = "remote", _("Remote credit command")
    BALANCE = "balance", _("Account balance (remote fee control)")


class VendStatus(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    PENDING_APPROVAL = "pending_approval", _("Reversal awaiting approval")
    REVERSED = "reversed", _("Reversed")


class Vend(models.Model):
    """A sale of credit (售电). ``amount`` is the money taken; ``arrears_recovered`` of it settled
    arrears and fees first; ``credit_amount`` bought ``energy`` (kWh / m³), loaded as ``register_units``
    (energy ÷ CT × PT, rounded up to 0.1) on local-control meters. ``breakdown`` is the tariff quote.
    """

    #: not stored: True on the vend ``do_vend`` returns for a repeated idempotency key
    replayed = False
    #: not stored: on the vend ``do_vend`` has just written, the account's balance after it, the
    #: tokens it issued (``IssuedToken`` rows, in order) and its receipt, so its answer (the API's,
    #: the counter's receipt screen) needs no second read
    balance_after: Decimal | None = None
    issued_tokens: list[Any] | None = None
    issued_receipt: Any = None

    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="vends", verbose_name=_("account")
    )
    meter = models.ForeignKey(
        "meters.Meter",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="vends",
        verbose_name=_("meter"),
    )
    point = models.ForeignKey(
        VendingPoint,
        on_delete=models.PROTECT,
        null=True,
        related_name="vends",
        verbose_name=_("vending point"),
    )
    shift = models.ForeignKey(
        Shift, on_delete=models.PROTECT, null=True, blank=True, related_name="vends", verbose_name=_("shift")
    )
    method = models.CharField(
        _("payment method"), max_length=8, choices=PaymentMethod.choices, default=PaymentMethod.CASH
    )
    reference = models.CharField(_("payment reference"), max_length=80, blank=True)
    amount = MoneyField(_("amount paid"))
    #: the cash the customer handed over (收款), when the cashier typed it; the change is the rest
    tendered = MoneyField(_("cash tendered"), null=True, blank=True)
    arrears_recovered = MoneyField(_("arrears recovered"), default=0)
    credit_amount = MoneyField(_("credit amount"), default=0)
    energy = EnergyField(_("energy"), null=True, blank=True)
    register_units = EnergyField(_("register units"), null=True, blank=True)
    multiplier = models.PositiveIntegerField(_("multiplier"), default=1)
    tariff = models.ForeignKey(
        "tariffs.Tariff",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("tariff"),
    )
    breakdown = models.JSONField(_("breakdown"), default=dict, blank=True)
    delivery = models.CharField(_("delivery"), max_length=8, choices=Delivery.choices, default=Delivery.TOKEN)
    status = models.CharField(
        _("status"), max_length=20, choices=VendStatus.choices, default=VendStatus.COMPLETED
    )
    receipt_no = models.CharField(_("receipt number"), max_length=40, blank=True)
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=80, unique=True, null=True, blank=True
    )
    request_hash = models.CharField(max_length=64, blank=True, editable=False)
    channel = models.CharField(_("channel"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("operator"),
    )

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("vend")
        verbose_name_plural = _("vends")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.receipt_no or self.pk} {self.account} {self.amount}"

    @property
    def change(self) -> Decimal | None:
        """Cash given back (找零): tendered − amount; None when no tender was recorded."""
        return None if self.tendered is None else self.tendered - self.amount


class Receipt(models.Model):
    """A numbered receipt (gap-free per vending point) for a vend or a refund."""

    point = models.ForeignKey(VendingPoint, on_delete=models.PROTECT, related_name="receipts")
    number = models.PositiveBigIntegerField(_("number"))
    code = models.CharField(_("receipt number"), max_length=40, unique=True)
    vend = models.OneToOneField(Vend, on_delete=models.PROTECT, null=True, blank=True, related_name="receipt")
    reversal = models.OneToOneField(
        "Reversal", on_delete=models.PROTECT, null=True, blank=True, related_name="receipt"
    )
    delivery = models.OneToOneField(
        "CreditDelivery", on_delete=models.PROTECT, null=True, blank=True, related_name="receipt"
    )
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    prints = models.PositiveIntegerField(_("times printed"), default=0)

    objects = ScopedManager()
    scope_group = "point__site__group"
    scope_site: str | None = "point__site"

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["point", "number"]
        constraints = [models.UniqueConstraint(fields=["point", "number"], name="receipt_number_gap_free")]

    def __str__(self) -> str:
        return self.code


class CardImage(models.Model):
    """An IC-card purchase image written for a card meter: bound to the meter, numbered by the meter's
    purchase sequence (so the meter loads it once) and sealed with a MAC (see prepay/domain/cards.py)."""

    meter = models.ForeignKey("meters.Meter", on_delete=models.PROTECT, related_name="card_images")
    sequence = models.PositiveIntegerField(_("purchase sequence"))
    units = EnergyField(_("register units"))
    image = models.CharField(_("card image (hex)"), max_length=512)
    vend = models.OneToOneField(Vend, on_delete=models.PROTECT, null=True, blank=True, related_name="card")
    adjustment = models.OneToOneField(
        "Adjustment", on_delete=models.PROTECT, null=True, blank=True, related_name="card"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # the write onto the customer's card, confirmed through the card bridge (read back) or by hand
    written_at = models.DateTimeField(_("written to the card at"), null=True, blank=True)
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = ScopedManager()
    scope_group = "meter__group"
    scope_site: str | None = "meter__site"

    class Meta:
        verbose_name = _("card image")
        verbose_name_plural = _("card images")
        constraints = [models.UniqueConstraint(fields=["meter", "sequence"], name="card_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.meter} #{self.sequence}"


class ReversalKind(models.TextChoices):
    REVERSAL = "reversal", _("Reversal (冲正)")
    REFUND = "refund", _("Refund (退费)")


class ApprovalStatus(models.TextChoices):
    """Where a four-eyes request (reversal, refund, adjustment) stands."""

    REQUESTED = "requested", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


ReversalStatus = ApprovalStatus


class Reversal(models.Model):
    """A request to reverse a vend or refund a balance: requested by one user, decided by another."""

    kind = models.CharField(_("kind"), max_length=8, choices=ReversalKind.choices)
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="reversals", verbose_name=_("account")
    )
    vend = models.ForeignKey(
        Vend,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
        verbose_name=_("vend"),
    )
    amount = MoneyField(_("amount"))
    method = models.CharField(_("paid back by"), max_length=8, choices=PaymentMethod.choices, default="cash")
    reason = models.CharField(_("reason"), max_length=200)
    token_entered = models.BooleanField(_("token already entered"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ReversalStatus.choices, default=ReversalStatus.REQUESTED
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)
    point = models.ForeignKey(VendingPoint, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    clear_token = models.ForeignKey(
        "tokens.IssuedToken",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("clear-credit token"),
    )
    idempotency_key = models.CharField(max_length=80, unique=True, null=True, blank=True)

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("reversal or refund")
        verbose_name_plural = _("reversals and refunds")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["vend"],
                condition=models.Q(status__in=["requested", "approved"]),
                name="one_live_reversal_per_vend",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.account} {self.amount}"


class AgentFloatEntry(models.Model):
    """The float ledger of a vending point that draws on one (partner agents)."""

    point = models.ForeignKey(VendingPoint, on_delete=models.PROTECT, related_name="float_entries")
    seq = models.PositiveIntegerField(_("sequence"))
    amount = MoneyField(_("amount"))
    balance_after = MoneyField(_("balance after"))
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    vend = models.ForeignKey(Vend, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    idempotency_key = models.CharField(max_length=80, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    objects = ScopedManager()
    scope_group = "point__site__group"
    scope_site: str | None = "point__site"

    class Meta:
        verbose_name = _("agent float entry")
        verbose_name_plural = _("agent float entries")
        ordering = ["point", "seq"]
        constraints = [models.UniqueConstraint(fields=["point", "seq"], name="float_seq_unique_per_point")]

    def __str__(self) -> str:
        return f"{self.point} #{self.seq} {self.amount}"


class JournalLine(models.Model):
    """Double entry: every ledger movement is a balanced set of lines (debits +, credits −) over books:
    ``cash`` (by point and payment method), ``customer`` (the customer ledger), ``revenue:energy``,
    ``revenue:fees``, ``tax:vat``, ``agent_float``, ``adjustments``. Lines of one ``journal`` sum to 0.
    """

    journal = models.UUIDField(_("journal"), db_index=True)
    book = models.CharField(_("book"), max_length=24)
    amount = MoneyField(_("amount"))
    site = models.ForeignKey("tenancy.Site", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    point = models.ForeignKey(VendingPoint, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    method = models.CharField(max_length=8, blank=True)
    entry = models.ForeignKey(
        LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="lines"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    audit_txn = models.CharField(max_length=16, null=True, blank=True, editable=False, default=current_txn)  # noqa: DJ001

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("journal line")
        verbose_name_plural = _("journal lines")
        ordering = ["pk"]
        # the reconciliation reads one book's lines of a period: (book, time) reads just those, where
        # the time index alone reads the lines of every book in the period and drops most of them
        indexes = [models.Index(fields=["book", "created_at"], name="vending_journal_book_time")]

    def __str__(self) -> str:
        return f"{self.book} {self.amount}"


AdjustmentStatus = ApprovalStatus


class Adjustment(models.Model):
    """调剂电量 / 调账: energy given without a sale (compensation) or money credited or debited to a balance
    (correction), with a reason; requested by a clerk, approved by someone else (finance or admin)."""

    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="adjustments", verbose_name=_("account")
    )
    energy = EnergyField(_("energy"), null=True, blank=True)
    amount = MoneyField(_("amount"), null=True, blank=True)
    register_units = EnergyField(_("register units"), null=True, blank=True)
    delivery = models.CharField(_("delivery"), max_length=8, choices=Delivery.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=AdjustmentStatus.choices, default=AdjustmentStatus.REQUESTED
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=80, unique=True, null=True, blank=True)

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("adjustment")
        verbose_name_plural = _("adjustments")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        what = f"{self.energy}" if self.energy is not None else f"{self.amount}"
        return f"{self.account} {what}"


# credit owed to meters outside a sale, receipt printing (kept apart to keep this module short)
from prepay.vending.delivery_models import (  # noqa: E402, F401
    CreditDelivery,
    DeliveryStatus,
    PrintStatus,
    ReceiptPrint,
)
