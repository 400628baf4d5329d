"""``PREPAY_EMAIL_URL`` → Django's e-mail settings (read by prepay/settings.py; no Django app needed).

============================================  ==========================================================
``smtp://user:pass@mail.example.cn:587?tls=1``  SMTP with STARTTLS; user and password percent-encoded
``smtps://user:pass@mail.example.cn``           SMTP over TLS (port 465 unless given); ``?ssl=1`` on
                                                ``smtp://`` is the same
``smtp://mail.lan``                             plain SMTP, port 25, no sign-in
``console://``                                  print each message on the server's standard output
``file:///var/lib/prepay/mail``                 write messages to files in that folder (created when
                                                needed; messages of one second may share a file); a
                                                relative path (``file://mail``) is under ``PREPAY_VAR_DIR``
``memory://``                                   keep messages in memory (tests)
``off://``                                      discard every message
============================================  ==========================================================

Query parameters: ``from=`` the sender (``DEFAULT_FROM_EMAIL`` and ``SERVER_EMAIL``; an e-mail
channel's own ``from`` still wins), ``timeout=`` seconds (default 10), ``tls=1`` / ``ssl=1``.

Unset or empty: ``file://mail`` — a demo or a fresh installation keeps every message it would
send under ``<PREPAY_VAR_DIR>/mail`` instead of losing it on an SMTP server that is not there.
A URL that cannot be used stops the start with ImproperlyConfigured naming the problem (never the
password).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

DEFAULT_URL = "file://mail"

BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "memory": "django.core.mail.backends.locmem.EmailBackend",
    "off": "django.core.mail.backends.dummy.EmailBackend",
}

_TRUE = {"1", "true", "yes", "on"}


def _refuse(problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"PREPAY_EMAIL_URL: {problem}")


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return query.get(name, ["0"])[-1].strip().lower() in _TRUE


def email_settings(url: str | None, *, var_dir: Path) -> dict[str, Any]:
    """Every e-mail setting Django reads, from ``url`` (see the module docstring)."""
    url = (url or "").strip() or DEFAULT_URL
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in BACKENDS:
        raise _refuse(f"unknown scheme {scheme!r}; use one of {', '.join(sorted(BACKENDS))}")
    query = parse_qs(parts.query)
    out: dict[str, Any] = {
        "EMAIL_BACKEND": BACKENDS[scheme],
        "EMAIL_HOST": "localhost",
        "EMAIL_PORT": 25,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 10,
        "EMAIL_FILE_PATH": str(var_dir / "mail"),
        "DEFAULT_FROM_EMAIL": "webmaster@localhost",
        "SERVER_EMAIL": "root@localhost",
    }
    if sender := query.get("from", [""])[-1].strip():
        if "@" not in sender:
            raise _refuse(f"from={sender!r} is not an e-mail address")
        out["DEFAULT_FROM_EMAIL"] = out["SERVER_EMAIL"] = sender
    try:
        out["EMAIL_TIMEOUT"] = int(query.get("timeout", ["10"])[-1])
    except ValueError:
        raise _refuse("timeout must be a whole number of seconds") from None
    if scheme == "file":
        path = Path(unquote(parts.netloc + parts.path))
        out["EMAIL_FILE_PATH"] = str(path if path.is_absolute() else var_dir / path)
    elif scheme in ("smtp", "smtps"):
        out.update(_smtp(parts, query, ssl=scheme == "smtps"))
    return out


def _smtp(parts: Any, query: dict[str, list[str]], *, ssl: bool) -> dict[str, Any]:
    if not parts.hostname:
        raise _refuse("an smtp:// URL needs a host, e.g. smtp://mail.example.cn:587?tls=1")
    ssl = ssl or _flag(query, "ssl")
    tls = _flag(query, "tls")
    if ssl and tls:
        raise _refuse("choose tls=1 (STARTTLS) or ssl (smtps://), not both")
    try:
        port = parts.port
    except ValueError:
        raise _refuse("the port is not a number") from None
    return {
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or (465 if ssl else 587 if tls else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": tls,
        "EMAIL_USE_SSL": ssl,
    }
