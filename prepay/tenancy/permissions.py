"""The permission matrix: which role may do what. docs/permissions.md is generated from this table.

A capability is granted to a user on a site when the user holds, on that site or on the site's group,
a membership whose role is listed here. Group-level memberships reach every site of the group;
nobody reaches another group. Django superusers (platform operators) may do everything.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from prepay.tenancy.choices import Role

A, C, K, F, U = Role.ADMIN, Role.CLERK, Role.CASHIER, Role.FINANCE, Role.AUDITOR

#: capability -> (roles that hold it, human description)
CAPABILITIES: dict[str, tuple[frozenset[str], object]] = {
    "view": (frozenset({A, C, K, F, U}), _("See master data, accounts, meters and tariffs of the site")),
    "backoffice": (
        frozenset({A, C, F, U}),
        _("Use the back office (/admin/); cashiers work at the vending counter only"),
    ),
    "masterdata.change": (
        frozenset({A}),
        _("Create and edit sites, buildings, units, customer types, meter models and tariffs"),
    ),
    "staff.manage": (frozenset({A}), _("Create staff users and grant memberships")),
    "customer.change": (frozenset({C}), _("Register customers and edit their details")),
    "account.lifecycle": (
        frozenset({C}),
        _("Open account, assign / replace meter, transfer ownership, close account"),
    ),
    "meter.stock": (frozenset({A, C}), _("Register meters, mark faulty, return to stock, retire")),
    "import.run": (frozenset({A, C}), _("Import customers, units and meters from CSV / Excel")),
    "vend.sell": (frozenset({K}), _("Sell credit at the counter")),
    "reversal.request": (frozenset({K, C}), _("Request a reversal or refund")),
    "reversal.approve": (frozenset({F, A}), _("Approve a reversal or refund (never one's own)")),
    "reports.view": (frozenset({A, F, U}), _("Sales, recovery and reconciliation reports")),
    "audit.view": (frozenset({A, F, U}), _("Read the audit log")),
    "db.care": (frozenset({A}), _("Database backup, check and compaction")),
    "keys.manage": (frozenset({A}), _("Import and rotate STS vending keys")),
    "token.management": (
        frozenset({A, C}),
        _("Issue management and key-change tokens (clear credit, tamper, key change)"),
    ),
    "billing.run": (frozenset({A, F}), _("Run settlements, fees, bills and apportionment")),
    "fees.manage": (frozenset({A, C}), _("Set up fees, warning levels, public meter groups and meter trees")),
    "supply.protect": (frozenset({A, C}), _("Protect supply (never cut) for a time window")),
    "supply.restore": (
        frozenset({A, C}),
        _("Restore supply after a reminder cut; switch prepaid / postpaid"),
    ),
}


def roles_for(capability: str) -> frozenset[str]:
    """Roles holding ``capability``; unknown capabilities are a programming error."""
    try:
        return CAPABILITIES[capability][0]
    except KeyError:
        raise KeyError(f"unknown capability {capability!r}") from None


def render_matrix() -> str:
    """The permission matrix as a Markdown table (docs/permissions.md embeds it; a test compares)."""
    from prepay.tenancy.choices import Role

    roles = list(Role)
    head = "| capability | " + " | ".join(r.value for r in roles) + " | what it allows |"
    sep = "|" + "---|" * (len(roles) + 2)
    rows = [
        f"| `{cap}` | " + " | ".join("✔" if r in granted else "" for r in roles) + f" | {desc} |"
        for cap, (granted, desc) in CAPABILITIES.items()
    ]
    return "\n".join([head, sep, *rows])
