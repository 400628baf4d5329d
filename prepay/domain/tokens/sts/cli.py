"""Command line interface of the STS engine.

``main(argv)`` runs one subcommand and returns the exit status (0 ok, 1 token/engine error,
2 usage error).  Human output shows tokens in groups of four digits; ``batch`` speaks the
JSON-lines protocol of :mod:`.batch` on stdin/stdout.  Help texts are wrapped in ``_()`` for
later translation.  Vending keys can be given with ``--vending-key-env NAME`` so that they do
not appear in the process list; they are never printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from gettext import gettext as _
from typing import Any

from . import api
from .batch import describe, run_batch
from .errors import StsError
from .keys import BASE_DATE_YEARS
from .tid import parse_issued_at
from .token import group_token

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _add_key_args(p: argparse.ArgumentParser, *, allow_decoder_key: bool = True) -> None:
    g = p.add_argument_group(_("key"))
    if allow_decoder_key:
        g.add_argument("--decoder-key", metavar="HEX", help=_("decoder key, 16 hex digits (natural order)"))
    g.add_argument("--dkga", choices=["02", "04"], help=_("decoder key generation algorithm"))
    g.add_argument("--vending-key", metavar="HEX", help=_("vending key in hex (prefer --vending-key-env)"))
    g.add_argument(
        "--vending-key-env", metavar="NAME", help=_("environment variable holding the vending key")
    )
    g.add_argument("--sgc", metavar="DIGITS", help=_("supply group code, 6 digits"))
    g.add_argument("--ti", metavar="NN", default="01", help=_("tariff index, 2 digits (default 01)"))
    g.add_argument("--krn", type=int, default=1, help=_("key revision number 1..9 (default 1)"))
    g.add_argument("--kt", type=int, default=2, help=_("key type 0..3 (default 2, unique key)"))
    g.add_argument("--pan", metavar="DIGITS", help=_("meter PAN (18 digits) or DRN/IAIN (11 or 13 digits)"))
    g.add_argument(
        "--ea", default="07", choices=["07", "09"], help=_("encryption algorithm (09 experimental)")
    )


def _add_time_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--issued-at", metavar="YYYY-MM-DDTHH:MM", help=_("issue time (default: now, local clock)")
    )
    p.add_argument("--tid", type=int, help=_("raw token identifier instead of --issued-at"))
    p.add_argument("--base-date", type=int, choices=BASE_DATE_YEARS, default=1993, help=_("TID base date"))
    p.add_argument("--rnd", type=int, help=_("random nibble 0..15 (default: random)"))


def _key_params(ns: argparse.Namespace) -> dict[str, Any]:
    vk = ns.vending_key
    if ns.vending_key_env:
        vk = os.environ.get(ns.vending_key_env)
        if not vk:
            raise StsError(
                _("environment variable {name} is not set").format(name=ns.vending_key_env),
                code="missing_field",
            )
    missing = [
        n
        for n, v in (("--dkga", ns.dkga), ("--vending-key", vk), ("--sgc", ns.sgc), ("--pan", ns.pan))
        if not v
    ]
    if missing:
        raise StsError(_("missing options: {names}").format(names=", ".join(missing)), code="missing_field")
    return {
        "dkga": ns.dkga,
        "vending_key": vk,
        "supply_group_code": ns.sgc,
        "tariff_index": ns.ti,
        "key_revision": ns.krn,
        "key_type": ns.kt,
        "pan": ns.pan,
        "base_date": ns.base_date,
        "encryption_algorithm": ns.ea,
    }


def _decoder_key(ns: argparse.Namespace) -> str:
    if getattr(ns, "decoder_key", None):
        return str(ns.decoder_key)
    return api.decoder_key(_key_params(ns)).hex()


def _when(ns: argparse.Namespace) -> dict[str, Any]:
    if ns.tid is not None:
        return {"tid": ns.tid}
    when = parse_issued_at(ns.issued_at) if ns.issued_at else datetime.now().replace(second=0, microsecond=0)
    return {"issued_at": when}


def _print_issued(issued: api.IssuedToken) -> None:
    print(_("Token: {token}").format(token=group_token(issued.token)))
    if issued.tid is not None:
        print(_("TID:   {tid}").format(tid=issued.tid))


def _cmd_decoder_key(ns: argparse.Namespace) -> int:
    print(_("Decoder key: {key}").format(key=api.decoder_key(_key_params(ns)).hex()))
    return EXIT_OK


def _cmd_credit(ns: argparse.Namespace) -> int:
    issued = api.credit_token(
        _decoder_key(ns),
        ns.subclass,
        ns.amount,
        base_date=ns.base_date,
        rnd=ns.rnd,
        algorithm=ns.ea,
        **_when(ns),
    )
    _print_issued(issued)
    return EXIT_OK


def _management(ns: argparse.Namespace, subclass: int, value: int) -> int:
    issued = api.management_token(
        _decoder_key(ns), subclass, value, base_date=ns.base_date, rnd=ns.rnd, algorithm=ns.ea, **_when(ns)
    )
    _print_issued(issued)
    return EXIT_OK


def _cmd_clear_credit(ns: argparse.Namespace) -> int:
    return _management(ns, 1, 0xFFFF if ns.register == "all" else int(ns.register))


def _cmd_clear_tamper(ns: argparse.Namespace) -> int:
    return _management(ns, 5, 0)


def _cmd_max_power(ns: argparse.Namespace) -> int:
    return _management(ns, 6 if ns.phase_unbalance else 0, ns.watts)


def _cmd_key_change(ns: argparse.Namespace) -> int:
    tokens = api.key_change_tokens(
        ns.old_decoder_key,
        ns.new_decoder_key,
        key_revision=ns.new_krn,
        key_type=ns.new_kt,
        tariff_index=int(ns.new_ti),
        ken_high=ns.ken >> 4,
        ken_low=ns.ken & 15,
        rollover=ns.rollover,
        third_token=ns.third_token,
        supply_group_code=ns.sgc,
        algorithm=ns.ea,
    )
    for i, issued in enumerate(tokens, 1):
        print(_("Token {n}: {token}").format(n=i, token=group_token(issued.token)))
    return EXIT_OK


def _cmd_test(ns: argparse.Namespace) -> int:
    _print_issued(api.test_token(ns.subclass, int(ns.control, 0), ns.manufacturer_code))
    return EXIT_OK


def _cmd_decode(ns: argparse.Namespace) -> int:
    fields = api.decode(ns.token, ns.decoder_key, algorithm=ns.ea)
    for name, value in describe(fields, ns.base_date).items():
        print(f"{name:>18}: {value}")
    return EXIT_OK


def _cmd_batch(ns: argparse.Namespace) -> int:
    run_batch(sys.stdin, sys.stdout, line_buffered=ns.line_buffered)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of all subcommands."""
    parser = argparse.ArgumentParser(prog="sts", description=_("STS (IEC 62055-41) prepaid token engine"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("decoder-key", help=_("derive a decoder key (DKGA02/DKGA04)"))
    _add_key_args(p, allow_decoder_key=False)
    p.add_argument(
        "--base-date", type=int, choices=BASE_DATE_YEARS, default=1993, help=_("base date (DKGA04 input)")
    )
    p.set_defaults(func=_cmd_decoder_key)

    p = sub.add_parser("credit", help=_("make a credit token"))
    _add_key_args(p)
    _add_time_args(p)
    p.add_argument(
        "--subclass", type=int, default=0, help=_("0 electricity, 1 water, 2 gas, 3 time, 4-7 currency")
    )
    p.add_argument("amount", help=_("amount: kWh/m³/units (0.1 resolution, rounded up) or currency"))
    p.set_defaults(func=_cmd_credit)

    p = sub.add_parser("clear-credit", help=_("make a clear-credit token"))
    _add_key_args(p)
    _add_time_args(p)
    p.add_argument("--register", default="all", help=_("register 0..7 or 'all' (default)"))
    p.set_defaults(func=_cmd_clear_credit)

    p = sub.add_parser("clear-tamper", help=_("make a clear-tamper token"))
    _add_key_args(p)
    _add_time_args(p)
    p.set_defaults(func=_cmd_clear_tamper)

    p = sub.add_parser("max-power", help=_("make a maximum power limit token"))
    _add_key_args(p)
    _add_time_args(p)
    p.add_argument(
        "--phase-unbalance", action="store_true", help=_("set the phase power unbalance limit instead")
    )
    p.add_argument("watts", type=int, help=_("limit in watts (rounded up to the next encodable value)"))
    p.set_defaults(func=_cmd_max_power)

    p = sub.add_parser("key-change", help=_("make key change tokens (encrypted with the old key)"))
    p.add_argument("--old-decoder-key", required=True, metavar="HEX", help=_("current decoder key"))
    p.add_argument("--new-decoder-key", required=True, metavar="HEX", help=_("new decoder key"))
    p.add_argument("--new-krn", type=int, required=True, help=_("new key revision number"))
    p.add_argument("--new-kt", type=int, default=2, help=_("new key type (default 2)"))
    p.add_argument("--new-ti", default="01", help=_("new tariff index (default 01)"))
    p.add_argument("--ken", type=int, default=255, help=_("new key expiry number 0..255 (default 255)"))
    p.add_argument(
        "--rollover", action="store_true", help=_("clear the meter's TID memory (base date change)")
    )
    p.add_argument("--third-token", action="store_true", help=_("also make the 3rd token carrying the SGC"))
    p.add_argument("--sgc", help=_("supply group code for the 3rd token"))
    p.add_argument("--ea", default="07", choices=["07", "09"], help=_("encryption algorithm"))
    p.set_defaults(func=_cmd_key_change)

    p = sub.add_parser("test", help=_("make an initiate meter test/display token"))
    p.add_argument("--subclass", type=int, default=0, help=_("0: 2-digit manufacturer code, 1: 4-digit"))
    p.add_argument("--manufacturer-code", type=int, default=0, help=_("manufacturer code (default 0)"))
    p.add_argument("control", help=_("control bits, e.g. 0x1 or 68719476735"))
    p.set_defaults(func=_cmd_test)

    p = sub.add_parser("decode", help=_("decode a token"))
    p.add_argument("--decoder-key", metavar="HEX", help=_("decoder key (not needed for test tokens)"))
    p.add_argument("--base-date", type=int, choices=BASE_DATE_YEARS, default=1993, help=_("TID base date"))
    p.add_argument("--ea", default="07", choices=["07", "09"], help=_("encryption algorithm"))
    p.add_argument("token", help=_("20-digit token (spaces allowed)"))
    p.set_defaults(func=_cmd_decode)

    p = sub.add_parser("batch", help=_("JSON-lines machine interface on stdin/stdout"))
    p.add_argument("--line-buffered", action="store_true", help=_("flush after every output line"))
    p.set_defaults(func=_cmd_batch)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status instead of exiting."""
    parser = build_parser()
    try:
        ns = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return int(ns.func(ns))
    except StsError as exc:
        print(_("error: {message} ({code})").format(message=exc.message, code=exc.code), file=sys.stderr)
        return EXIT_ERROR
    except ValueError as exc:
        print(_("error: {message}").format(message=exc), file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
