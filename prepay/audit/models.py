"""The audit log: append-only, hash-chained business events.

The log is a set of chains: chain 0 (the main chain: every event written before migration 0006, and
those of actions outside any one site) and one chain per site, numbered by the site's id. Each event
stores its ``chain``, its ``seq`` within it (1, 2, 3, ...), ``prev_hash`` (the hash of the event before
it in its chain) and ``hash`` = SHA-256 over a canonical JSON of its own fields and ``prev_hash``.
``AuditHead`` (one row per chain, ``id`` = the chain) holds the sequence number and hash of the
chain's newest event; writers lock it, which serialises each chain, and only that chain: sales at two
sites share no lock. Database triggers (see the migrations) refuse UPDATE and DELETE on the event
table, and move a head only forward onto an event of its own chain.

Since migration 0005 every event is also sealed: ``mac`` = HMAC-SHA256 with an audit key that only
the holder of the store key can read (:mod:`prepay.audit.keys`), so an event written or rewritten
with a recomputed hash no longer verifies. ``txn`` is the marker of the transaction that wrote the
event (:mod:`prepay.audit.marker`); the ledger rows of that transaction carry the same marker.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prepay.tenancy.models import ScopedManager


class AuditEvent(models.Model):
    #: 0: the main chain; else the id of the site whose chain holds the event
    chain = models.PositiveIntegerField(_("chain"), default=0)
    seq = models.BigIntegerField(_("sequence"))
    created_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_name = models.CharField(_("actor name"), max_length=150)
    group = models.ForeignKey(
        "tenancy.PropertyGroup",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("group"),
    )
    site = models.ForeignKey(
        "tenancy.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("site"),
    )
    verb = models.CharField(_("verb"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64, db_index=True)
    object_repr = models.CharField(_("object"), max_length=200)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # nullable without a default: SQLite adds such columns in place (a table rebuild would drop the
    # append-only triggers); NULL, not "", on the events written before the chain was keyed
    txn = models.CharField(_("transaction"), max_length=16, null=True, blank=True, editable=False)  # noqa: DJ001
    mac_key = models.CharField(_("audit key"), max_length=16, null=True, blank=True, editable=False)  # noqa: DJ001
    mac = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001

    objects = ScopedManager()
    scope_group = "group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_event_chain_seq")]

    def __str__(self) -> str:
        return f"{chain_label(self.chain, self.seq)} {self.verb} {self.object_repr}"


class AuditHead(models.Model):
    """The row pointing at a chain's newest event (locked by every writer of that chain)."""

    #: the chain: 0 = the main chain, else a site's id
    id = models.PositiveIntegerField(primary_key=True, default=0)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)
    #: the audit key that seals this chain's next events (None: not keyed yet)
    mac_key = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001 - added in place

    def __str__(self) -> str:
        return f"head {chain_label(self.id, self.seq)}"


def chain_label(chain: int, seq: int | None) -> str:
    """How an event is named to people: ``#12`` in the main chain, ``3#12`` in site 3's chain."""
    return f"{chain or ''}#{seq if seq is not None else '?'}"


class AuditKey(models.Model):
    """An audit (HMAC) key, stored only encrypted with the store key (AES-256-GCM, like the vending
    keys). ``key_id`` is a fingerprint of the key; events name the key that sealed them by it."""

    key_id = models.CharField(max_length=16, unique=True, editable=False)
    store_key_id = models.CharField(max_length=16, editable=False)
    nonce = models.BinaryField(max_length=12, editable=False)
    ciphertext = models.BinaryField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("audit key")
        verbose_name_plural = _("audit keys")

    def __str__(self) -> str:
        return f"audit key {self.key_id}"
