"""``prepay cardbridge``: the local card bridge the counter page uses to read and write IC cards (and
to print on a USB receipt printer at the counter PC). Runs on the cashier's PC; see
prepay/cardbridge/ and docs/vending.md."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from prepay.cardbridge.opening import open_reader
from prepay.cardbridge.pcsc import PyscardMissing
from prepay.cardbridge.server import BridgeConfig, BridgeServer, new_code, normalise


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (what browsers send as Origin); CommandError otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommandError(
            _("An origin looks like https://pay.example.lan or http://127.0.0.1:8000, not %(v)s") % {"v": url}
        )
    return f"{parts.scheme}://{parts.netloc}"


def default_origins() -> list[str]:
    """The Prepay server's public address (PREPAY_PUBLIC_URL) and the one-PC addresses."""
    found = [origin_of(settings.PREPAY_PUBLIC_URL)] if getattr(settings, "PREPAY_PUBLIC_URL", "") else []
    return found + ["http://127.0.0.1:8000", "http://localhost:8000"]


def default_port() -> int:
    url = getattr(settings, "PREPAY_CARDBRIDGE_URL", "") or "http://127.0.0.1:8765"
    return urlsplit(url).port or 8765


class Command(BaseCommand):
    help = _("Card bridge for the counter: read and write IC cards through a PC/SC reader on this PC")
    # runs on the cashier's PC, which need not reach the database: no checks that would query it
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=None, help=_("Port on 127.0.0.1 (default 8765)"))
        parser.add_argument(
            "--origin",
            action="append",
            default=None,
            help=_("Address of the Prepay server whose pages may use the bridge (repeat for several)"),
        )
        parser.add_argument(
            "--reader",
            choices=["pcsc", "sim"],
            default="pcsc",
            help=_("pcsc: a real reader; sim: a simulated card"),
        )
        parser.add_argument("--reader-name", help=_("Use the PC/SC reader whose name contains this"))
        parser.add_argument(
            "--apdu-class", default="FF", help=_("Class byte of the card commands (hex, default FF)")
        )
        parser.add_argument(
            "--verify-apdu",
            help=_("Command (hex) sent before each write, e.g. a memory card's security code"),
        )
        parser.add_argument("--sim-card", help=_("Keep the simulated card in this file between runs"))
        parser.add_argument(
            "--printer", help=_("Device file of a USB receipt printer on this PC, e.g. /dev/usb/lp0")
        )
        parser.add_argument("--code", help=_("Pairing code to use instead of a new random one"))
        parser.add_argument("--code-file", help=_("Also write the pairing code to this file (owner-only)"))
        parser.add_argument("--verbose", action="store_true", help=_("Log every request"))

    def _reader(self, options: dict[str, Any]) -> Any:
        try:
            cla = int(options["apdu_class"], 16)
            verify = bytes.fromhex(options["verify_apdu"]) if options["verify_apdu"] else None
        except ValueError:
            raise CommandError(_("--apdu-class and --verify-apdu are hexadecimal")) from None
        try:
            return open_reader(
                options["reader"],
                path=options["sim_card"],
                name=options["reader_name"],
                cla=cla,
                verify=verify,
            )
        except PyscardMissing as exc:
            raise CommandError(str(exc)) from None

    def handle(self, *args: Any, **options: Any) -> None:
        origins = frozenset(origin_of(o) for o in (options["origin"] or default_origins()))
        code = options["code"] or new_code()
        if len(normalise(code)) < 12:
            raise CommandError(_("A pairing code needs at least 12 letters or digits."))
        config = BridgeConfig(
            origins=origins,
            code=code,
            reader=self._reader(options),
            printer=options["printer"],
            verbose=options["verbose"],
        )
        if options["code_file"]:
            path = Path(options["code_file"])
            path.write_text(code + "\n")
            os.chmod(path, 0o600)
        try:
            server = BridgeServer(config, options["port"] or default_port())
        except OSError as exc:
            raise CommandError(_("Cannot listen on 127.0.0.1: %(e)s") % {"e": exc}) from None
        reader = config.reader.describe()
        self.stdout.write(
            _("Card bridge on %(url)s for %(origins)s")
            % {"url": server.url, "origins": ", ".join(sorted(origins))}
        )
        self.stdout.write(
            _("Reader: %(backend)s %(name)s (card %(card)s)")
            % {
                "backend": reader["backend"],
                "name": reader["name"],
                "card": _("present") if reader["card"] else _("absent"),
            }
        )
        if config.printer:
            self.stdout.write(_("Receipt printer: %(p)s") % {"p": config.printer})
        self.stdout.write(_("Pairing code (type it once at the counter): %(code)s") % {"code": code})
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
