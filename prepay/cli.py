"""The ``prepay`` console command: one entry point for operators.

``prepay sts …`` runs the token engine without a database; everything else is a Django management
command (``prepay db backup`` = ``manage.py db backup``). Help follows the locale (LANG / LC_ALL):
Chinese for zh_*, English otherwise.
"""

from __future__ import annotations

import os
import sys

COMMANDS: list[tuple[str, str]] = []  # filled in _commands() so the text is translated at call time


def locale_language(environ: dict[str, str] | None = None) -> str:
    """The UI language from the POSIX locale variables: ``zh-hans`` for any zh_* locale, else ``en``."""
    env = os.environ if environ is None else environ
    for var in ("PREPAY_LANGUAGE", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            return "zh-hans" if value.lower().startswith("zh") else "en"
    return "en"


def default_port(environ: dict[str, str] | None = None) -> int:
    """The port ``prepay demo`` and ``prepay serve`` use without ``--port``: ``PORT``, else 8000
    (``make demo PORT=8080`` passes it on; gunicorn and container platforms read it too)."""
    value = (os.environ if environ is None else environ).get("PORT", "").strip()
    if not value:
        return 8000
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"PORT must be a port number (1-65535), not {value!r}")
    return int(value)


def _commands() -> list[tuple[str, str]]:
    from django.utils.translation import gettext as _

    return [
        ("demo", _("Set up the embedded database with demo data and serve on http://127.0.0.1:8000")),
        ("serve", _("Serve the web application with gunicorn (production; behind a reverse proxy)")),
        ("collectstatic", _("Copy the static files to STATIC_ROOT for the reverse proxy to serve")),
        ("migrate", _("Create or upgrade the database schema")),
        ("import", _("Import customers, units or meters from CSV / Excel (all or nothing)")),
        ("audit", _("Audit log: `prepay audit verify` checks the hash chain")),
        ("db", _("Database care: backup, restore, check, compact")),
        ("sts", _("STS token engine: decoder keys, credit and management tokens, decode, batch")),
        (
            "simulate",
            _("Run virtual meters that speak Modbus TCP, DL/T 645, CJ/T 188 and MQTT on real sockets"),
        ),
        ("pollmeters", _("Poll networked meters: readings, relay state, online/offline, queued commands")),
        (
            "runbilling",
            _("Billing daemon: charge new readings, run daily and monthly settlements, send notifications"),
        ),
        ("analyse", _("Suspicious-consumption analysis of a day: scores, reasons and cases per site")),
        ("keys", _("Vending keys: import, list, rotate the store key")),
        ("apikey", _("API clients: create, list, revoke, set the vending point")),
        ("payments", _("Online payment providers: add, credentials, switch, import a statement")),
        ("cardbridge", _("Local bridge between the counter page and a PC/SC card reader or USB printer")),
        ("createsuperuser", _("Create a platform operator account")),
    ]


def _help(prog: str) -> str:
    from django.utils.translation import gettext as _

    lines = [_("Usage: %(prog)s <command> [options]") % {"prog": prog}, "", _("Commands:")]
    lines += [f"  {name:<16} {text}" for name, text in _commands()]
    lines += ["", _("`%(prog)s <command> --help` explains one command.") % {"prog": prog}]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prepay.settings")
    if args and args[0] == "sts":
        from prepay.domain.tokens.sts.cli import main as sts_main

        return sts_main(args[1:])
    import django
    from django.utils import translation

    django.setup()
    # The command's own output follows the shell locale; web requests keep choosing their language
    # per request (LocaleMiddleware, default settings.LANGUAGE_CODE).
    translation.activate(locale_language())
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_help("prepay"))
        return 0
    from django.core.management import ManagementUtility

    ManagementUtility(["prepay", *args]).execute()
    return 0


if __name__ == "__main__":
    sys.exit(main())
