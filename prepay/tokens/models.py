"""Token state in the database: encrypted vending keys, per-meter TIDs, issued tokens, key changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from prepay.common.fields import ScaledDecimalField
from prepay.tenancy.models import ScopedManager


class VendingKey(models.Model):
    """A vending key (VUDK / VCDK / VDDK) for one key slot, stored only encrypted (AES-256-GCM).

    The ciphertext is bound (as associated data) to the group and key slot, so a ciphertext copied
    onto another row does not decrypt. ``store_key_id`` names the store key that encrypted it.
    """

    group = models.ForeignKey("tenancy.PropertyGroup", on_delete=models.PROTECT, related_name="vending_keys")
    label = models.CharField(_("label"), max_length=100)
    dkga = models.CharField(
        _("key generation algorithm"), max_length=2, choices=[("02", "DKGA02"), ("04", "DKGA04")]
    )
    supply_group_code = models.CharField(_("supply group code"), max_length=6)
    key_revision = models.PositiveSmallIntegerField(_("key revision"))
    key_type = models.PositiveSmallIntegerField(_("key type"))
    nonce = models.BinaryField(max_length=12, editable=False)
    ciphertext = models.BinaryField(editable=False)
    store_key_id = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()
    scope_group = "group"
    scope_site: str | None = None

    class Meta:
        verbose_name = _("vending key")
        verbose_name_plural = _("vending keys")
        constraints = [
            models.UniqueConstraint(
                fields=["group", "supply_group_code", "key_revision", "key_type"],
                name="vending_key_slot_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} (SGC {self.supply_group_code} KRN {self.key_revision} KT {self.key_type})"

    def __repr__(self) -> str:
        return f"<VendingKey {self.pk} {self}>"

    def aad(self) -> bytes:
        return f"prepay-vk:{self.group_id}:{self.supply_group_code}:{self.key_revision}:{self.key_type}:{self.dkga}".encode()


class MeterTokenState(models.Model):
    """The newest TID issued to a meter (locked to allocate the next) and its key expiry number."""

    meter = models.OneToOneField(
        "meters.Meter", on_delete=models.PROTECT, primary_key=True, related_name="token_state"
    )
    last_tid = models.BigIntegerField(null=True, blank=True)
    ken = models.PositiveSmallIntegerField(_("key expiry number"), default=255)

    def __str__(self) -> str:
        return f"{self.meter_id}: TID {self.last_tid}"


class TokenKind(models.TextChoices):
    CREDIT = "credit", _("Credit")
    MANAGEMENT = "management", _("Management")
    KEY_CHANGE = "key_change", _("Key change")
    TEST = "test", _("Meter test")


class IssuedToken(models.Model):
    """Every token ever generated for a meter: who, when, why, for which vend.

    A lost token is re-printed from here, never regenerated with a new TID.
    """

    meter = models.ForeignKey("meters.Meter", on_delete=models.PROTECT, related_name="tokens")
    kind = models.CharField(max_length=16, choices=TokenKind.choices)
    token_class = models.PositiveSmallIntegerField()
    subclass = models.PositiveSmallIntegerField()
    tid = models.BigIntegerField(null=True, blank=True)
    token = models.CharField(max_length=20)
    amount = ScaledDecimalField(places=5, null=True, blank=True)
    value = models.BigIntegerField(null=True, blank=True)
    supply_group_code = models.CharField(max_length=6)
    key_revision = models.PositiveSmallIntegerField()
    tariff_index = models.CharField(max_length=2)
    reason = models.CharField(max_length=200)
    vend = models.ForeignKey(
        "vending.Vend", on_delete=models.PROTECT, null=True, blank=True, related_name="tokens"
    )
    adjustment = models.ForeignKey(
        "vending.Adjustment", on_delete=models.PROTECT, null=True, blank=True, related_name="tokens"
    )
    # credit delivered outside a sale (carried over at a meter replacement)
    delivery = models.ForeignKey(
        "vending.CreditDelivery", on_delete=models.PROTECT, null=True, blank=True, related_name="tokens"
    )
    key_change = models.ForeignKey(
        "KeyChange", on_delete=models.PROTECT, null=True, blank=True, related_name="tokens"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    objects = ScopedManager()
    scope_group = "meter__group"
    scope_site: str | None = "meter__site"

    class Meta:
        verbose_name = _("issued token")
        verbose_name_plural = _("issued tokens")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["meter", "tid"], condition=Q(tid__isnull=False), name="token_tid_unique_per_meter"
            )
        ]

    def __str__(self) -> str:
        return " ".join(self.token[i : i + 4] for i in range(0, 20, 4))


class KeyChange(models.Model):
    """A meter moved to new key parameters (supply group, tariff index, key revision/type, base date)."""

    meter = models.ForeignKey("meters.Meter", on_delete=models.PROTECT, related_name="key_changes")
    old = models.JSONField()
    new = models.JSONField()
    rollover = models.BooleanField(default=False)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    objects = ScopedManager()
    scope_group = "meter__group"
    scope_site: str | None = "meter__site"

    def __str__(self) -> str:
        return f"{self.meter_id}: {self.old} -> {self.new}"


class CardMasterKey(models.Model):
    """The group's IC-card master key (random, 32 bytes), stored only encrypted with the store key.

    Each card meter's key is HMAC-SHA256(master, serial) (see ``SoftwareKeyStore.card_key``): the
    card written for one meter never loads into another.
    """

    group = models.OneToOneField("tenancy.PropertyGroup", on_delete=models.PROTECT, related_name="+")
    nonce = models.BinaryField(max_length=12, editable=False)
    ciphertext = models.BinaryField(editable=False)
    store_key_id = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("card master key")
        verbose_name_plural = _("card master keys")

    def __str__(self) -> str:
        return f"card master key of group {self.group_id}"

    def aad(self) -> bytes:
        return f"prepay-card-master|{self.group_id}".encode()
