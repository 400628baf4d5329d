"""The one pattern every form page of the counter follows: parse, call one action, render.

An :class:`ActionError` re-renders the form with the action's message (status 400, nothing changed);
an action's :class:`PermissionDenied` becomes a 403; success redirects with a message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from prepay.common.errors import ActionError, PermissionDenied


def call_action(form: forms.Form, run: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``run()``; on an ActionError add its message to ``form`` and return (False, None)."""
    try:
        return True, run()
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from None
    except ActionError as exc:
        form.add_error(None, str(exc))
        return False, None


def form_page(
    request: HttpRequest,
    *,
    form_class: Callable[..., forms.Form],
    form_kwargs: dict[str, Any],
    title: str,
    run: Callable[[dict[str, Any]], Any],
    success: str,
    done: Callable[[Any], str],
    cancel_url: str,
    subject: Any = None,
    testid: str = "action",
    initial: dict[str, Any] | None = None,
    note: str = "",
) -> HttpResponse:
    """GET: the empty form; POST: validate, call ``run(cleaned_data)`` once, redirect to ``done(result)``.
    ``note``: a sentence shown above the form (what the action will do in this case)."""
    status = 200
    if request.method == "POST":
        form = form_class(request.POST, **form_kwargs)
        if form.is_valid():
            ok, result = call_action(form, lambda: run(form.cleaned_data))
            if ok:
                messages.success(request, success)
                return HttpResponseRedirect(done(result))
        status = 400
    else:
        form = form_class(initial=initial or {}, **form_kwargs)
    context = {
        "form": form,
        "title": title,
        "subject": subject,
        "cancel_url": cancel_url,
        "testid": testid,
        "note": note,
    }
    return render(request, "counter/action_form.html", context, status=status)
