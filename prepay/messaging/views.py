"""Message screens: the list, one message, writing one, the top bar's badge, marking all read.

Same contract as every screen: signed-in staff with a role only (else the sign-in page, or 403); a
message or account outside what the user may read answers 404; an action's refusal re-renders the
form (400) with its message, nothing changed. The list and the badge refresh themselves every
:func:`queries.poll_seconds` seconds with htmx (no script of our own).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from prepay.common.errors import ActionError, NotFound, PermissionDenied
from prepay.customers.models import Account
from prepay.messaging import actions, queries
from prepay.messaging.forms import MessageForm
from prepay.messaging.models import Message

#: the list's filters: all I may read, only unread, what I sent
SHOW = ("all", "unread", "sent")
PER_PAGE = 30


def _staff(request: HttpRequest) -> Any:
    """The signed-in user, or 403 for someone without a role anywhere."""
    if not queries.may_use(request.user):
        raise DjangoPermissionDenied
    return request.user


def signed_in(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like ``login_required``, but a polling htmx request of a signed-out user gets 401 (the page
    then says "you were signed out") instead of the sign-in page swapped into the list."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if request.headers.get("HX-Request"):
                return HttpResponse(status=401)
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


@signed_in
@never_cache
def inbox(request: HttpRequest) -> HttpResponse:
    """The messages the user may read, newest first; an htmx request gets the list alone (polling)."""
    user = _staff(request)
    show = request.GET.get("show") if request.GET.get("show") in SHOW else "all"
    rows = queries.listing(user)
    if show == "unread":
        rows = rows.unread_by(user)
    elif show == "sent":
        rows = rows.filter(sender=user)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "show": show,
        "accounts": queries.visible_account_ids(user, page.object_list),
        "poll": queries.poll_seconds(),
    }
    template = "messaging/_list.html" if request.headers.get("HX-Request") else "messaging/inbox.html"
    return render(request, template, context)


@signed_in
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One message; opening it is reading it (the receipt is written once, see do_mark_read)."""
    user = _staff(request)
    message = queries.listing(user).filter(pk=pk).first()
    if message is None:
        raise Http404
    try:
        actions.do_mark_read(actor=user, messages=[message])
    except NotFound:  # no longer readable between the two queries
        raise Http404 from None
    context = {
        "m": message,
        "account_visible": message.account_id in queries.visible_account_ids(user, [message]),
        "reads": message.reads.select_related("user").order_by("read_at", "pk"),
        "reply": _reply_query(user, message),
    }
    return render(request, "messaging/detail.html", context)


def _reply_query(user: Any, message: Message) -> str:
    """The query string of the "Reply" link: the same site / group / other person, same account."""
    if message.audience == "person":
        other = message.sender_id if message.recipient_id == user.pk else message.recipient_id
        to = f"user:{other}"
    elif message.audience == "site":
        to = f"site:{message.site_id}"
    else:
        to = f"group:{message.group_id}"
    return f"to={to}" + (f"&account={message.account_id}" if message.account_id else "")


def _about(request: HttpRequest) -> Account | None:
    """The account of ``?account=`` if the user may see it; 404 if not (or not a number)."""
    raw = request.GET.get("account")
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404
    account = (
        Account.objects.for_user(request.user)
        .select_related("site__group", "customer")
        .filter(pk=int(raw))
        .first()
    )
    if account is None:
        raise Http404
    return account


@signed_in
def compose(request: HttpRequest) -> HttpResponse:
    """Write a message (``?account=`` makes it about an account, ``?to=`` preselects whom to)."""
    user = _staff(request)
    account = _about(request)
    status = 200
    if request.method == "POST":
        form = MessageForm(request.POST, user=user, account=account)
        if form.is_valid():
            try:
                message = actions.do_send_message(
                    actor=user, body=form.cleaned_data["body"], account=account, **form.address()
                )
            except PermissionDenied as exc:
                raise DjangoPermissionDenied(str(exc)) from None
            except NotFound:
                raise Http404 from None
            except ActionError as exc:
                form.add_error(
                    "body" if exc.code in {"empty", "too_long", "control_characters"} else None, str(exc)
                )
            else:
                flash.success(request, _("Message sent."))
                if account is not None:
                    return HttpResponseRedirect(
                        reverse("counter:account", args=[account.pk]) + "#account-messages"
                    )
                return HttpResponseRedirect(reverse("messaging:detail", args=[message.pk]))
        status = 400
    else:
        form = MessageForm(initial={"to": request.GET.get("to", "")}, user=user, account=account)
    return render(request, "messaging/compose.html", {"form": form, "account": account}, status=status)


@signed_in
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    """Receipts for every message the user may read and has not (at most 500 at a time)."""
    user = _staff(request)
    unread = list(Message.objects.for_user(user).unread_by(user).order_by("pk")[:500])
    done = actions.do_mark_read(actor=user, messages=unread)
    flash.success(
        request,
        ngettext("%(n)s message marked as read.", "%(n)s messages marked as read.", done) % {"n": done},
    )
    return HttpResponseRedirect(reverse("messaging:inbox"))


@signed_in
@never_cache
def badge(request: HttpRequest) -> HttpResponse:
    """The top bar's unread badge alone (htmx polls it). Signed out: 401, so the page says so."""
    user = _staff(request)
    context = {"unread": queries.unread_count(user), "poll": queries.poll_seconds()}
    # rendered without the request: no context processors, so no navigation queries
    return HttpResponse(render_to_string("messaging/_badge.html", context))
