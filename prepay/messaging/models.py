"""Operator messages and their read receipts.

A :class:`Message` is written once and kept: it is never edited and never deleted (no view, action
or admin page does either; the model refuses a second save and a delete, and a database trigger
refuses UPDATE, see migration 0002). Who may read it is decided by :meth:`MessageQuerySet.for_user`
from the reader's memberships *now*, so someone who leaves a site stops seeing its messages and a
newcomer sees its history:

* ``site``: members of that site and group-level staff of its group;
* ``group``: every member of the group (any site, any role);
* ``person``: the recipient and the sender only, while they are still members of the group.

A :class:`MessageRead` row is one reader's receipt: unread = visible, not one's own, no receipt.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prepay.messaging.choices import Audience

#: the longest message body, in characters
MAX_BODY = 4000


class MessageQuerySet(models.QuerySet["Message"]):
    """Messages; :meth:`for_user` keeps the ones ``user`` may read (see the module docstring)."""

    def for_user(self, user: Any, capability: str = "view") -> MessageQuerySet:
        """The messages ``user`` may read. One SQL statement: the memberships are subqueries.

        ``capability`` is accepted for the shared ``for_user`` signature; every role may read the
        messages of its sites, so only ``"view"`` is meaningful.
        """
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        party = Q(recipient_id=user.pk) | Q(sender_id=user.pk)
        if user.is_superuser:  # a platform operator reaches every group, but not others' private notes
            return self.filter(
                Q(audience__in=[Audience.SITE, Audience.GROUP]) | (Q(audience=Audience.PERSON) & party)
            )
        from prepay.tenancy.models import Membership

        mine = Membership.objects.filter(user_id=user.pk)
        return self.filter(
            (
                Q(audience=Audience.SITE)
                & (
                    Q(site_id__in=mine.filter(site__isnull=False).values("site_id"))
                    | Q(group_id__in=mine.filter(site__isnull=True).values("group_id"))
                )
            )
            | (Q(audience=Audience.GROUP) & Q(group_id__in=mine.values("group_id")))
            | (Q(audience=Audience.PERSON) & party & Q(group_id__in=mine.values("group_id")))
        )

    def with_read_state(self, user: Any) -> MessageQuerySet:
        """Annotate ``is_read`` for ``user`` (one's own messages count as read)."""
        receipt = MessageRead.objects.filter(message_id=models.OuterRef("pk"), user_id=user.pk)
        return self.annotate(
            is_read=models.ExpressionWrapper(
                Q(sender_id=user.pk) | Q(models.Exists(receipt)), output_field=models.BooleanField()
            )
        )

    def unread_by(self, user: Any) -> MessageQuerySet:
        """The messages not written by ``user`` that ``user`` has no receipt for (not scoped: chain
        after :meth:`for_user`)."""
        receipt = MessageRead.objects.filter(message_id=models.OuterRef("pk"), user_id=user.pk)
        return self.exclude(sender_id=user.pk).exclude(models.Exists(receipt))

    def delete(self) -> Any:  # type: ignore[override]
        raise RuntimeError("messages are kept: they are never deleted")

    def update(self, **kwargs: Any) -> int:
        raise RuntimeError("messages are kept as written: they are never changed")


class Message(models.Model):
    """One message, as written (see the module docstring for who reads it)."""

    group = models.ForeignKey(
        "tenancy.PropertyGroup", on_delete=models.PROTECT, related_name="+", verbose_name=_("group")
    )
    site = models.ForeignKey(
        "tenancy.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("site"),
        help_text=_("The site addressed; for a message to a person about an account, the account's site."),
    )
    audience = models.CharField(_("addressed to"), max_length=8, choices=Audience.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recipient"),
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("sender")
    )
    account = models.ForeignKey(
        "customers.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("about account"),
    )
    body = models.TextField(_("message text"), max_length=MAX_BODY)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now, db_index=True)

    objects = MessageQuerySet.as_manager()
    scope_group = "group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("operator message")
        verbose_name_plural = _("operator messages")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["audience", "site"], name="message_site_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(audience="site", site__isnull=False, recipient__isnull=True)
                    | Q(audience="group", site__isnull=True, recipient__isnull=True, account__isnull=True)
                    | Q(audience="person", recipient__isnull=False)
                ),
                name="message_audience_fields",
            )
        ]

    def __str__(self) -> str:
        # never the body: this is what the audit log shows, and auditors are not the audience
        return _("Message %(number)s") % {"number": self.pk}

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError("messages are kept as written: they are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("messages are kept: they are never deleted")


class MessageRead(models.Model):
    """One reader's receipt for one message (written the first time they open it)."""

    message = models.ForeignKey(
        Message, on_delete=models.PROTECT, related_name="reads", verbose_name=_("operator message")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("reader")
    )
    read_at = models.DateTimeField(_("first read at"), default=timezone.now)

    class Meta:
        verbose_name = _("read receipt")
        verbose_name_plural = _("read receipts")
        ordering = ["read_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="message_read_once")]

    def __str__(self) -> str:
        return f"{self.message_id} · {self.user_id}"
