"""The systemd units in deploy/systemd/ start commands that exist, with options those commands accept.

Each ``ExecStart``/``ExecStartPre`` that runs ``prepay <command> …`` is parsed by that command's own
argument parser (``%i``/``%H`` filled in as systemd would), so a renamed command or option breaks
this test rather than a site's server at its next boot. docs/deploy.md explains the units.
"""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

UNITS = sorted((Path(__file__).resolve().parent.parent / "deploy" / "systemd").glob("*.service"))
PREPAY = "/srv/prepay/.venv/bin/prepay"


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser


def _commands(path: Path) -> list[list[str]]:
    unit = _unit(path)
    lines = [unit["Service"].get(k, "") for k in ("ExecStartPre", "ExecStart")]
    filled = [line.replace("%i", "1").replace("%H", "host") for text in lines for line in text.splitlines()]
    return [shlex.split(line) for line in filled if line.strip()]


def test_there_are_units_for_the_web_the_pollers_pushed_readings_and_billing():
    assert {p.name for p in UNITS} == {
        "prepay-web.service",
        "prepay-poller@.service",
        "prepay-ingest@.service",
        "prepay-billing@.service",
    }


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_each_unit_runs_prepay_commands_with_options_they_accept(path):
    unit = _unit(path)
    assert (
        unit["Service"]["User"] == "prepay" and unit["Service"]["EnvironmentFile"] == "/etc/prepay/prepay.env"
    )
    commands = _commands(path)
    assert commands and all(argv[0] == PREPAY for argv in commands)
    known = get_commands()
    for argv in commands:
        name, args = argv[1], argv[2:]
        assert name in known, f"{path.name}: prepay {name} is not a command"
        command = load_command_class(known[name], name)
        command.create_parser("prepay", name).parse_args(args)  # exits (SystemExit) on a bad option
