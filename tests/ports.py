"""Ports for test servers that bind some time after the port is chosen."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_handed_out: set[int] = set()


def _ephemeral_floor() -> int:
    """The lowest port the OS hands to outgoing connections (Linux: ip_local_port_range)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A port nothing listens on, never the same twice in a run (blocks run side by side).

    Taken below the range the OS gives outgoing connections: the server binds it only after its
    example has set things up, and a connection opened meanwhile could take a port from that range."""
    floor = _ephemeral_floor()
    while True:
        port = random.randrange(max(floor - 12000, 1024), floor)  # noqa: S311 - not a secret
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
