"""``prepay apikey create|list|set-point|revoke``: API keys for integrations (the key is printed once
only)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from prepay.api.actions import do_create_api_client, do_revoke_api_client, do_set_api_client_point
from prepay.api.models import ApiClient, Scope
from prepay.common.errors import ActionError
from prepay.tenancy.models import PropertyGroup, Site
from prepay.vending.models import VendingPoint


def _point(group: PropertyGroup, site: Site | None, code: str) -> VendingPoint | None:
    """The point ``code`` of ``site`` when it has one, else of another site of the group (which the
    action refuses for a site-bound client, saying why), else None."""
    points = VendingPoint.objects.select_related("site").filter(site__group=group, code=code)
    return (points.filter(site=site).first() if site else None) or points.order_by("pk").first()


class Command(BaseCommand):
    help = _("API keys for integrations: create, list, set-point, revoke")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        new = sub.add_parser("create", help=_("Create a client and print its key once"))
        new.add_argument("name")
        new.add_argument("--group", required=True, help=_("property group code"))
        new.add_argument("--site", help=_("site code (default: every site of the group)"))
        new.add_argument("--point", help=_("code of the vending point the client sells as"))
        new.add_argument(
            "--scopes",
            default="read,quote,vend",
            help=_("comma separated: %(s)s") % {"s": ",".join(Scope.values)},
        )
        new.add_argument("--roles", default="cashier", help=_("roles of the client's service user"))
        new.add_argument("--user", required=True, help=_("the admin creating the client"))
        lst = sub.add_parser("list", help=_("List clients (never the keys)"))
        lst.add_argument("--group")
        pt = sub.add_parser("set-point", help=_("Change the vending point a client sells as"))
        pt.add_argument("prefix", help=_("the key prefix shown by list"))
        pt.add_argument("--point", required=True, help=_("vending point code, or - for none"))
        pt.add_argument("--user", required=True, help=_("the admin making the change"))
        rev = sub.add_parser("revoke", help=_("Revoke a client's key"))
        rev.add_argument("prefix", help=_("the key prefix shown by list"))
        rev.add_argument("--user", required=True)

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['sub'].replace('-', '_')}")(opts)
        except ActionError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None

    def _user(self, name: str) -> Any:
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise CommandError(_("No active user %(u)s.") % {"u": name})
        return user

    def _create(self, opts: dict[str, Any]) -> None:
        actor = self._user(opts["user"])
        group = PropertyGroup.objects.filter(code=opts["group"]).first()
        if group is None:
            raise CommandError(_("No property group %(g)s.") % {"g": opts["group"]})
        site = None
        if opts.get("site"):
            site = Site.objects.filter(group=group, code=opts["site"]).first()
            if site is None:
                raise CommandError(_("No site %(s)s in %(g)s.") % {"s": opts["site"], "g": group.code})
        point = None
        if opts.get("point"):
            point = _point(group, site, opts["point"])
            if point is None:
                raise CommandError(
                    _("No vending point %(p)s in %(g)s.") % {"p": opts["point"], "g": group.code}
                )
        split = [s.strip() for s in opts["scopes"].split(",") if s.strip()]
        roles = [r.strip() for r in opts["roles"].split(",") if r.strip()]
        client, key = do_create_api_client(
            group=group, site=site, point=point, name=opts["name"], scopes=split, roles=roles, actor=actor
        )
        self.stdout.write(
            _("Created API client %(n)s (prefix %(p)s).") % {"n": client.name, "p": client.prefix}
        )
        self.stdout.write(_("Key (shown once, store it now):"))
        self.stdout.write(key)

    def _list(self, opts: dict[str, Any]) -> None:
        qs = ApiClient.objects.select_related("group", "site", "point").order_by("group__code", "name")
        if opts.get("group"):
            qs = qs.filter(group__code=opts["group"])
        for c in qs:
            self.stdout.write(
                f"{c.prefix}  {c.group.code:<10} {c.name:<24} {c.site.code if c.site else '*':<8} "
                f"{c.point.code if c.point else '-':<10} {','.join(c.scopes):<32} "
                f"{'active' if c.active else 'revoked'}  {c.last_used_at or '-'}"
            )

    def _client(self, prefix: str) -> ApiClient:
        client = ApiClient.objects.select_related("group", "site").filter(prefix=prefix).first()
        if client is None:
            raise CommandError(_("No API client with prefix %(p)s.") % {"p": prefix})
        return client

    def _set_point(self, opts: dict[str, Any]) -> None:
        actor = self._user(opts["user"])
        client = self._client(opts["prefix"])
        point = None
        if opts["point"] != "-":
            point = _point(client.group, client.site, opts["point"])
            if point is None:
                raise CommandError(
                    _("No vending point %(p)s in %(g)s.") % {"p": opts["point"], "g": client.group.code}
                )
        do_set_api_client_point(client=client, point=point, actor=actor)
        self.stdout.write(
            _("API client %(n)s sells as %(p)s.") % {"n": client.name, "p": point.code if point else "-"}
        )

    def _revoke(self, opts: dict[str, Any]) -> None:
        actor = self._user(opts["user"])
        client = self._client(opts["prefix"])
        do_revoke_api_client(client=client, actor=actor)
        self.stdout.write(_("Revoked API client %(n)s.") % {"n": client.name})
