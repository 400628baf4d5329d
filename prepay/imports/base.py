"""Building blocks of an import: the report, one parsed row, and the checks every kind shares.

A :class:`KindImporter` has two phases. ``check(row)`` parses and validates one row without writing,
recording every problem it finds (it does not stop at the first) and returning a plan for a good row;
``finish()`` runs the checks that need the whole file. ``write(plan)`` later performs the plan
through the business actions and may raise :class:`~prepay.common.errors.ActionError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from prepay.common.spreadsheet import FORMULA_PREFIXES, csv_writer
from prepay.domain.typed import TypedError, ascii_text, plain_decimal
from prepay.imports.columns import COLUMNS, Column
from prepay.tenancy.models import Site
from prepay.tenancy.permissions import CAPABILITIES
from prepay.tenancy.scoping import can

THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


@dataclass
class RowError:
    """One problem: spreadsheet row number (header = 1; None for the whole file), column, message."""

    row: int | None
    column: str
    message: str
    value: str = ""


@dataclass
class ImportReport:
    """The outcome of one import: rows read, objects created (or that would be), every error."""

    kind: str
    dry_run: bool = False
    rows: int = 0
    created: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        """True when the rows are now in the database."""
        return self.ok and not self.dry_run

    @property
    def bad_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors if e.row is not None})

    def count(self, what: str) -> None:
        self.created[what] = self.created.get(what, 0) + 1

    def summary(self) -> str:
        """One line for people, in the active language."""
        if not self.ok:
            bad = len(self.bad_rows)
            return ngettext(
                "Nothing imported: %(bad)d of %(rows)d rows has errors (%(errors)d errors).",
                "Nothing imported: %(bad)d of %(rows)d rows have errors (%(errors)d errors).",
                bad,
            ) % {"bad": bad, "rows": self.rows, "errors": len(self.errors)}
        labels = {
            "building": _("buildings"),
            "unit": _("units"),
            "customer": _("customers"),
            "account": _("accounts"),
            "meter": _("meters"),
        }
        made = ", ".join(f"{n} {labels.get(what, what)}" for what, n in self.created.items()) or "0"
        if self.dry_run:
            return _(
                "Dry run: all %(rows)d rows are valid and would create %(made)s; nothing was written."
            ) % {"rows": self.rows, "made": made}
        return _("Imported %(rows)d rows: created %(made)s.") % {"rows": self.rows, "made": made}

    def write_csv(self, out: TextIO) -> None:
        """The error report as CSV: row, column, value, message. The file's own text (its column names
        and values) is written through :func:`~prepay.common.spreadsheet.csv_writer`, so a value such
        as ``=1+1`` is text (``'=1+1``) when the report is opened in a spreadsheet."""
        w = csv_writer(out)
        w.writerow([_("row"), _("column"), _("value"), _("message")])
        for e in self.errors:
            w.writerow(["" if e.row is None else e.row, e.column, e.value, e.message])


@dataclass
class Row:
    """One data row: its spreadsheet number and its cells by canonical column key."""

    number: int
    values: dict[str, str]
    bad: bool = False

    def get(self, key: str) -> str:
        """The cell's text, trimmed; a leading ``'`` that our own exports put before ``= + - @`` (so
        no spreadsheet reads it as a formula) is taken off again, so an export imports as it is."""
        value = self.values.get(key, "").strip()
        if len(value) > 1 and value[0] == "'" and value[1:].startswith(FORMULA_PREFIXES):
            return value[1:]
        return value

    def code(self, key: str) -> str:
        """A number or code cell with full-width digits and letters (a Chinese IME) read as ASCII."""
        return ascii_text(self.get(key)).strip()


class KindImporter:
    """Shared parsing and permission checks; subclasses implement ``check`` and ``write``."""

    kind = ""
    #: model field name -> column key, to place Django field errors on the right column
    field_columns: dict[str, str] = {}

    def __init__(self, actor: Any, report: ImportReport, header_names: dict[str, str]) -> None:
        self.actor = actor
        self.report = report
        self.header_names = header_names
        self.columns: dict[str, Column] = {c.key: c for c in COLUMNS[self.kind]}
        self._sites: dict[str, list[Site]] = {}
        self._seen: dict[tuple[Any, ...], int] = {}

    # --- recording -------------------------------------------------------------------------------

    def error(self, row: Row, key: str, message: str) -> None:
        row.bad = True
        self.report.errors.append(
            RowError(row.number, self.header_names.get(key, key), message, row.get(key))
        )

    def once(self, row: Row, key: str, identity: tuple[Any, ...], what: str) -> bool:
        """Record ``identity`` as seen; on a repeat, report the duplicate and return False."""
        first = self._seen.setdefault(identity, row.number)
        if first != row.number:
            self.error(
                row,
                key,
                _("%(what)s %(value)s appears more than once in the file (first on row %(first)d).")
                % {"what": what, "value": row.get(key), "first": first},
            )
            return False
        return True

    # --- parsing ---------------------------------------------------------------------------------

    def text(self, row: Row, key: str, max_length: int) -> str:
        value = row.get(key)
        if not value and self.columns[key].required:
            self.error(row, key, _("A value is required."))
        elif len(value) > max_length:
            self.error(
                row, key, _("At most %(n)d characters (this has %(m)d).") % {"n": max_length, "m": len(value)}
            )
        return value

    def integer(self, row: Row, key: str, default: int, lo: int, hi: int | None = None) -> int:
        value = row.code(key)
        if not value:
            return default
        try:
            d = Decimal(value)
            ok = d.is_finite() and d == d.to_integral_value()
        except InvalidOperation:
            ok = False
        if not ok:
            self.error(row, key, _("%(v)s is not a whole number.") % {"v": value})
            return default
        n = int(d)
        if n < lo or (hi is not None and n > hi):
            if hi is None:
                msg = _("Must be a whole number of at least %(lo)d, not %(v)s.") % {"lo": lo, "v": value}
            else:
                msg = _("Must be a whole number from %(lo)d to %(hi)d, not %(v)s.") % {
                    "lo": lo,
                    "hi": hi,
                    "v": value,
                }
            self.error(row, key, msg)
            return default
        return n

    def decimal(self, row: Row, key: str, default: Decimal, places: int) -> Decimal:
        """A non-negative Decimal with at most ``places`` decimals (never via float)."""
        value = row.code(key)
        if not value:
            return default
        if "," in value:
            # "1,234.5" is a thousands separator; "88,5" (a decimal comma) would silently become 885.
            if not THOUSANDS.match(value):
                self.error(row, key, _("Write %(v)s with a decimal point, not a comma.") % {"v": value})
                return default
            value = value.replace(",", "")
        try:
            d = plain_decimal(value)  # no exponent, underscore, NaN or Infinity
        except TypedError:
            self.error(row, key, _("%(v)s is not a number.") % {"v": value})
            return default
        if d < 0:
            self.error(row, key, _("Cannot be negative."))
        elif d != d.quantize(Decimal(1).scaleb(-places)):
            self.error(row, key, _("At most %(n)d decimal places.") % {"n": places})
        return d

    def digits(self, row: Row, key: str, max_length: int, pad: int = 0) -> str:
        value = row.code(key)
        if value and (not value.isascii() or not value.isdigit() or len(value) > max_length):
            self.error(row, key, _("Digits only, at most %(n)d.") % {"n": max_length})
            return ""
        return value.zfill(pad) if value and pad else value

    def choice(self, row: Row, key: str, table: Mapping[str, str], default: str) -> str:
        """Map a cell through ``table`` (keys lower-case); empty gives ``default``."""
        value = row.get(key)
        if not value:
            return default
        found = table.get(value.lower().replace(" ", ""))
        if found is None:
            allowed = sorted({v for v in table.values()})
            self.error(
                row,
                key,
                _("Unknown value %(v)s; use one of: %(allowed)s.")
                % {"v": value, "allowed": ", ".join(allowed)},
            )
            return default
        return found

    def model_errors(self, row: Row, obj: models.Model, exclude: list[str]) -> None:
        """Run the model's own field validation as a safety net behind the explicit checks."""
        try:
            obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                self.error(row, self.field_columns.get(name, name), " ".join(messages))

    # --- where -----------------------------------------------------------------------------------

    def site(self, row: Row, *capabilities: str) -> Site | None:
        """Resolve ``site_code`` (``SITE`` or ``GROUP/SITE``) and check the actor may act there.

        Sites the actor cannot even see are reported as unknown, so an outsider learns nothing
        about other groups. ``import.run`` is always required, then each of ``capabilities``.
        """
        raw = row.get("site_code")
        if not raw:
            self.error(row, "site_code", _("A value is required."))
            return None
        group_code, _sep, code = raw.rpartition("/")
        if code not in self._sites:
            self._sites[code] = list(Site.objects.filter(code=code).select_related("group"))
        candidates = [s for s in self._sites[code] if not group_code or s.group.code == group_code]
        visible = [s for s in candidates if can(self.actor, "view", group_id=s.group_id, site_id=s.pk)]
        if not visible:
            self.error(
                row, "site_code", _("Unknown site %(code)s, or you have no access to it.") % {"code": raw}
            )
            return None
        if len(visible) > 1:
            self.error(
                row,
                "site_code",
                _("Site code %(code)s is used in several groups; write it as GROUP/SITE.") % {"code": raw},
            )
            return None
        site = visible[0]
        for capability in ("import.run", *capabilities):
            if not can(self.actor, capability, group_id=site.group_id, site_id=site.pk):
                self.error(
                    row,
                    "site_code",
                    _("You are not allowed to do this at site %(site)s: %(what)s.")
                    % {"site": site.code, "what": CAPABILITIES[capability][1]},
                )
                return None
        return site

    # --- to implement ----------------------------------------------------------------------------

    def check(self, row: Row) -> Any | None:
        """Validate one row; return its plan, or None when the row has errors."""
        raise NotImplementedError

    def finish(self) -> None:
        """Checks that need every row (run after the last ``check``)."""

    def write(self, plan: Any) -> None:
        """Perform one plan through the actions; raises ActionError when an action refuses."""
        raise NotImplementedError
