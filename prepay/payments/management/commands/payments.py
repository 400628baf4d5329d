"""``prepay payments``: set up providers, import statements, reconcile (secrets read from files, never
printed or taken on the command line)."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from prepay.common.errors import ActionError
from prepay.common.spreadsheet import csv_writer
from prepay.payments import actions, reconcile
from prepay.payments.adapters.simulated import new_credentials
from prepay.payments.adapters.wechat import BEIJING
from prepay.payments.choices import OrderStatus
from prepay.payments.models import PaymentOrder, PaymentProvider, Statement
from prepay.tenancy.models import PropertyGroup, Site
from prepay.vending.models import VendingPoint


def _read(path: str | None) -> str:
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CommandError(_("Cannot read %(f)s: %(e)s") % {"f": path, "e": type(exc).__name__}) from None


class Command(BaseCommand):
    help = _("Online payments: add providers, set credentials, import statements, reconcile")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        add = sub.add_parser("add", help=_("Add a provider: wechat, alipay or simulated"))
        add.add_argument("kind", choices=["wechat", "alipay", "simulated"])
        self._where(add)
        add.add_argument("--name", default="")
        add.add_argument("--point", required=True, help=_("code of an online vending point"))
        add.add_argument("--site", help=_("site code (default: every site of the group)"))
        self._keys(add)
        cred = sub.add_parser(
            "credentials", help=_("Replace a provider's secrets (e.g. after a store-key rotation)")
        )
        self._where(cred)
        self._keys(cred)
        sub.add_parser("list", help=_("List providers (never their secrets)")).add_argument("--group")
        switch = sub.add_parser("switch", help=_("Switch a provider on or off for new orders"))
        self._where(switch)
        switch.add_argument("state", choices=["on", "off"])
        imp = sub.add_parser("import-statement", help=_("Import a day's statement file"))
        self._where(imp)
        imp.add_argument("file", type=Path)
        imp.add_argument("--day", required=True, type=date.fromisoformat)
        rec = sub.add_parser("reconcile", help=_("List a day's mismatches; -o FILE.xlsx exports them"))
        self._where(rec)
        rec.add_argument("--day", required=True, type=date.fromisoformat)
        rec.add_argument("-o", "--output", type=Path)
        sim = sub.add_parser("simulate-statement", help=_("Write a simulated provider's trade bill of a day"))
        self._where(sim)
        sim.add_argument("--day", required=True, type=date.fromisoformat)
        sim.add_argument("-o", "--output", type=Path, required=True)

    def _where(self, p: Any) -> None:
        p.add_argument("--group", required=True, help=_("property group code"))
        p.add_argument("--code", required=True, help=_("provider code"))
        p.add_argument("--user", required=True, help=_("who does it (audited)"))

    def _keys(self, p: Any) -> None:
        for name in (
            "mchid",
            "appid",
            "merchant-serial",
            "app-id",
            "seller-id",
            "gateway",
            "api-base",
            "product",
        ):
            p.add_argument(f"--{name}", default="")
        p.add_argument(
            "--platform-cert",
            action="append",
            default=[],
            help=_("WeChat Pay platform certificate (PEM file)"),
        )
        p.add_argument("--public-key", action="append", default=[], help=_("WeChat Pay public key: ID=FILE"))
        p.add_argument("--alipay-public-key-file", default="")
        p.add_argument("--apiv3-key-file", default="")
        p.add_argument("--private-key-file", default="")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, "_" + opts["sub"].replace("-", "_"))(opts)
        except ActionError as exc:
            raise CommandError(str(exc.message)) from None

    def _user(self, name: str) -> Any:
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise CommandError(_("No active user %(u)s.") % {"u": name})
        return user

    def _group(self, code: str) -> PropertyGroup:
        group = PropertyGroup.objects.filter(code=code).first()
        if group is None:
            raise CommandError(_("No property group %(g)s.") % {"g": code})
        return group

    def _provider(self, opts: dict[str, Any]) -> PaymentProvider:
        found = PaymentProvider.objects.filter(group__code=opts["group"], code=opts["code"]).first()
        if found is None:
            raise CommandError(_("No payment provider %(c)s.") % {"c": opts["code"]})
        return found

    def _secrets_from(self, kind: str, opts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        if kind == "simulated":
            return new_credentials()
        if kind == "wechat":
            keys = dict(item.split("=", 1) for item in opts["public_key"] if "=" in item)
            config: dict[str, Any] = {
                "mchid": opts["mchid"],
                "appid": opts["appid"],
                "merchant_serial": opts["merchant_serial"],
                "platform_certificates": [_read(f) for f in opts["platform_cert"]],
                "public_keys": {k: _read(v) for k, v in keys.items()},
            }
            if opts["api_base"]:
                config["api_base"] = opts["api_base"]
            values = {
                "apiv3_key": _read(opts["apiv3_key_file"]),
                "private_key": _read(opts["private_key_file"]),
            }
            return config, values
        config = {"app_id": opts["app_id"], "alipay_public_key": _read(opts["alipay_public_key_file"])}
        config |= {k: opts[k] for k in ("seller_id", "gateway", "product") if opts[k]}
        return config, {"private_key": _read(opts["private_key_file"])}

    def _add(self, opts: dict[str, Any]) -> None:
        group = self._group(opts["group"])
        site = Site.objects.filter(group=group, code=opts["site"]).first() if opts.get("site") else None
        if opts.get("site") and site is None:
            raise CommandError(_("No site %(s)s.") % {"s": opts["site"]})
        point = VendingPoint.objects.filter(site__group=group, code=opts["point"]).first()
        if point is None:
            raise CommandError(_("No vending point %(p)s.") % {"p": opts["point"]})
        config, values = self._secrets_from(opts["kind"], opts)
        provider = actions.do_add_provider(
            group=group,
            site=site,
            code=opts["code"],
            name=opts["name"],
            kind=opts["kind"],
            point=point,
            config=config,
            secret_values=values,
            actor=self._user(opts["user"]),
        )
        self.stdout.write(
            _("Added payment provider %(c)s (id %(id)s); secrets are stored encrypted.")
            % {"c": provider.code, "id": provider.pk}
        )
        self.stdout.write(
            _("Notification address: /payments/notify/%(id)s/ on PREPAY_PUBLIC_URL") % {"id": provider.pk}
        )

    def _credentials(self, opts: dict[str, Any]) -> None:
        provider = self._provider(opts)
        config, values = self._secrets_from(provider.kind, opts)
        actions.do_set_provider_credentials(
            provider=provider, config=config, secret_values=values, actor=self._user(opts["user"])
        )
        self.stdout.write(_("Credentials of %(c)s replaced.") % {"c": provider.code})

    def _list(self, opts: dict[str, Any]) -> None:
        rows = PaymentProvider.objects.select_related("group", "site", "point").order_by(
            "group__code", "code"
        )
        if opts.get("group"):
            rows = rows.filter(group__code=opts["group"])
        for p in rows:
            state = _("active") if p.active else _("off")
            where = p.site.code if p.site else "*"
            self.stdout.write(
                f"{p.group.code:<10} {p.code:<12} {p.kind:<10} {where:<8} {p.point.code:<10} id {p.pk} {state}"
            )

    def _switch(self, opts: dict[str, Any]) -> None:
        provider = self._provider(opts)
        actions.do_set_provider_active(
            provider=provider, active=opts["state"] == "on", actor=self._user(opts["user"])
        )
        self.stdout.write(
            _("Provider %(c)s is %(s)s.")
            % {"c": provider.code, "s": _("active") if opts["state"] == "on" else _("off")}
        )

    def _import_statement(self, opts: dict[str, Any]) -> None:
        path: Path = opts["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(_("Cannot read %(f)s: %(e)s") % {"f": path, "e": type(exc).__name__}) from None
        statement = actions.do_import_statement(
            provider=self._provider(opts),
            day=opts["day"],
            filename=path.name,
            data=data,
            actor=self._user(opts["user"]),
        )
        self.stdout.write(_("Imported %(n)s lines.") % {"n": statement.lines_count})
        self._show(statement, None)

    def _reconcile(self, opts: dict[str, Any]) -> None:
        self._user(opts["user"])
        statement = Statement.objects.filter(provider=self._provider(opts), day=opts["day"]).first()
        if statement is None:
            raise CommandError(_("No statement of that day; import it first."))
        self._show(statement, opts.get("output"))

    def _show(self, statement: Statement, output: Path | None) -> None:
        found = reconcile.mismatches(statement)
        for m in found:
            self.stdout.write(
                f"{m.label}: {m.order_number} {m.provider_trade_no} {m.statement_amount} / {m.prepay_amount} {m.note}"
            )
        self.stdout.write(_("%(n)s mismatches.") % {"n": len(found)})
        if output is not None:
            output.write_bytes(reconcile.export(statement, found))

    def _simulate_statement(self, opts: dict[str, Any]) -> None:
        """The day's paid orders of a simulated provider as WeChat Pay would list them (for the demo)."""
        provider = self._provider(opts)
        if provider.kind != "simulated":
            raise CommandError(_("Only a simulated provider's statement can be simulated."))
        start = datetime.combine(opts["day"], time.min, tzinfo=BEIJING)
        orders = PaymentOrder.objects.filter(
            provider=provider, paid_at__gte=start, paid_at__lt=start + timedelta(days=1)
        )
        out = io.StringIO()
        writer = csv_writer(out)
        writer.writerow(
            [
                "交易时间",
                "公众账号ID",
                "商户号",
                "微信订单号",
                "商户订单号",
                "交易类型",
                "交易状态",
                "货币种类",
                "应结订单金额",
                "手续费",
                "订单金额",
                "退款金额",
                "商户退款单号",
            ]
        )
        for o in orders.exclude(status=OrderStatus.CREATED).order_by("paid_at"):
            assert o.paid_at is not None and o.paid_amount is not None
            when = o.paid_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
            row = [
                when,
                "wxsimulated",
                provider.config.get("mchid", ""),
                o.provider_trade_no,
                o.number,
                "NATIVE",
                "SUCCESS",
                "CNY",
                f"{o.paid_amount:.2f}",
                "0.00",
                f"{o.paid_amount:.2f}",
                "0.00",
                "",
            ]
            writer.writerow(["`" + str(c) for c in row])
        opts["output"].write_text(out.getvalue(), encoding="utf-8")
        self.stdout.write(_("Wrote %(f)s.") % {"f": opts["output"]})
