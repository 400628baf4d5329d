"""Where a vending point's thermal receipt printer is reached, and whether its address suits it.

Shared by the model (``VendingPoint.clean`` checks the address a form gives) and by the printing
itself (``prepay/vending/printing.py`` splits the address to connect); kept apart so that neither
imports the other.
"""

from __future__ import annotations

import re

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9.\-]{1,100}|\[[0-9A-Fa-f:.]{2,60}\]):(?P<port>\d{1,5})$")


class PrinterConnection(models.TextChoices):
    NONE = "", gettext_lazy("No thermal printer")
    NETWORK = "network", gettext_lazy("Network printer (the server sends to host:port)")
    SERVER_USB = "server_usb", gettext_lazy("USB printer on the server (device file)")
    BRIDGE = "bridge", gettext_lazy("USB printer at the counter PC (through the card bridge)")


def check_address(connection: str, address: str) -> str:
    """The problem with ``address`` for ``connection`` (a message for the form), or ``""``."""
    address = (address or "").strip()
    if connection == PrinterConnection.NETWORK:
        m = _HOST_PORT.match(address)
        if not m or not 1 <= int(m.group("port")) <= 65535:
            return _("Give the network printer as host:port, for example 192.168.1.50:9100.")
    elif connection == PrinterConnection.SERVER_USB and (
        not address.startswith("/") or any(c.isspace() for c in address)
    ):
        return _("Give the printer's device file on the server, for example /dev/usb/lp0.")
    return ""


def split_address(address: str) -> tuple[str, int]:
    """``("192.168.1.50", 9100)`` from ``"192.168.1.50:9100"`` (``[::1]:9100`` for IPv6)."""
    host, _sep, port = address.strip().rpartition(":")
    return host.strip("[]"), int(port)
