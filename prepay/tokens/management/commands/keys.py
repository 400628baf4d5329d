"""``prepay keys``: import, list and rotate STS vending keys (never printed)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from prepay.common.errors import ActionError
from prepay.tenancy.models import PropertyGroup
from prepay.tenancy.scoping import require
from prepay.tokens import keystore as ks
from prepay.tokens.actions import do_import_vending_keys
from prepay.tokens.models import VendingKey


def read_key_file(path: Path) -> list[dict[str, Any]]:
    """Rows from a JSON list / JSON lines / CSV file with columns label, dkga, supply_group_code,
    key_revision, key_type, key."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return list(csv.DictReader(text.splitlines()))
    stripped = text.strip()
    if stripped.startswith("["):
        data = json.loads(stripped)
        if not isinstance(data, list):
            raise CommandError(_("The JSON file must hold a list of keys."))
        return data
    return [json.loads(line) for line in stripped.splitlines() if line.strip()]


class Command(BaseCommand):
    help = _("STS vending keys: import FILE, list, rotate the store key")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        imp = sub.add_parser("import", help=_("Import vending keys from CSV / JSON (all or nothing)"))
        imp.add_argument("file", type=Path)
        imp.add_argument("--group", required=True, help=_("property group code"))
        imp.add_argument("--user", required=True, help=_("the admin doing the import"))
        lst = sub.add_parser("list", help=_("List key slots (never the keys)"))
        lst.add_argument("--group")
        rot = sub.add_parser("rotate", help=_("Re-encrypt every vending key under a new store key"))
        rot.add_argument("--user", required=True)
        rot.add_argument(
            "--new-key-file",
            type=Path,
            required=True,
            help=_("where to write the new store key (created, mode 0600)"),
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        getattr(self, f"_{opts['sub']}")(opts)

    def _user(self, name: str) -> Any:
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise CommandError(_("No active user %(u)s.") % {"u": name})
        return user

    def _import(self, opts: dict[str, Any]) -> None:
        group = PropertyGroup.objects.filter(code=opts["group"]).first()
        if group is None:
            raise CommandError(_("No property group %(g)s.") % {"g": opts["group"]})
        try:
            rows = read_key_file(opts["file"])
            created = do_import_vending_keys(group=group, rows=rows, actor=self._user(opts["user"]))
        except (OSError, ValueError) as exc:
            raise CommandError(
                _("Cannot read %(f)s: %(e)s") % {"f": opts["file"], "e": type(exc).__name__}
            ) from None
        except ActionError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(_("Imported %(n)s vending keys; nothing is stored in clear.") % {"n": len(created)})

    def _list(self, opts: dict[str, Any]) -> None:
        qs = VendingKey.objects.select_related("group").order_by(
            "group__code", "supply_group_code", "key_revision"
        )
        if opts.get("group"):
            qs = qs.filter(group__code=opts["group"])
        for vk in qs:
            self.stdout.write(
                f"{vk.group.code:<12} {vk.label:<30} DKGA{vk.dkga} SGC {vk.supply_group_code} "
                f"KRN {vk.key_revision} KT {vk.key_type} store-key {vk.store_key_id}"
            )

    def _rotate(self, opts: dict[str, Any]) -> None:
        user = self._user(opts["user"])
        try:
            require(user, "keys.manage", group_id=None)
        except ActionError:
            if not user.is_superuser:
                raise CommandError(_("Only a platform operator can rotate the store key.")) from None
        path: Path = opts["new_key_file"]
        if path.exists():
            raise CommandError(_("%(f)s exists; name a new file.") % {"f": path})
        new_raw = ks.StoreKey.generate()
        new = ks.StoreKey(new_raw)
        store = ks.SoftwareKeyStore(ks.load_store_key(create=False))
        ks.write_key_file(path, new_raw)
        try:
            with transaction.atomic():
                count = store.reencrypt_all(new)
        except Exception:
            path.unlink(missing_ok=True)
            raise
        ks.reset_keystore()
        using_default = not os.environ.get("PREPAY_KEY_FILE") and not os.environ.get("PREPAY_STORE_KEY")
        if using_default:
            os.replace(path, ks.default_key_file())
            self.stdout.write(
                _("Re-encrypted %(n)s keys; the new store key replaced %(f)s.")
                % {"n": count, "f": ks.default_key_file()}
            )
        else:
            self.stdout.write(
                _("Re-encrypted %(n)s keys under store key %(id)s. Point PREPAY_KEY_FILE at %(f)s now.")
                % {"n": count, "id": new.key_id, "f": path}
            )
