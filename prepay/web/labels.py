"""Words for what the system records in code: audit verbs and meter events, in the reader's language.

Audit events are stored with a dotted verb (``vend.sell``); pages show :func:`verb_label` — one table,
:data:`VERB_LABELS`, for every verb the actions write, with a family label for a verb not in it, so
a page never shows a code name. Meter events are stored as a kind and a detail dict
(``relay {"from": "closed", "to": "open"}``); :func:`event_text` says them as a sentence, speaking of
a valve for a water meter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

#: every audit verb the actions write → what it is called on screen
VERB_LABELS: dict[str, Any] = {
    "account.open": gettext_lazy("Account opened"),
    "account.transfer": gettext_lazy("Ownership transferred"),
    "account.close": gettext_lazy("Account closed"),
    "account.billing_mode": gettext_lazy("Billing mode changed"),
    "customer.create": gettext_lazy("Customer registered"),
    "customer.update": gettext_lazy("Customer details changed"),
    "vend.sell": gettext_lazy("Sale"),
    "payment.sell": gettext_lazy("Online sale"),
    "payment.order": gettext_lazy("Online payment started"),
    "payment.notify": gettext_lazy("Online payment notified"),
    "payment.refund": gettext_lazy("Online payment refunded"),
    "payment.statement": gettext_lazy("Payment statement checked"),
    "receipt.reprint": gettext_lazy("Receipt re-printed"),
    "receipt.print": gettext_lazy("Receipt printed"),
    "report.export": gettext_lazy("Report exported"),
    "reversal.request": gettext_lazy("Reversal requested"),
    "reversal.approve": gettext_lazy("Reversal approved"),
    "reversal.reject": gettext_lazy("Reversal rejected"),
    "refund.request": gettext_lazy("Refund requested"),
    "refund.approve": gettext_lazy("Refund approved"),
    "refund.reject": gettext_lazy("Refund rejected"),
    "adjustment.request": gettext_lazy("Adjustment requested"),
    "adjustment.approve": gettext_lazy("Adjustment approved"),
    "adjustment.reject": gettext_lazy("Adjustment rejected"),
    "meter.register": gettext_lazy("Meter registered"),
    "meter.assign": gettext_lazy("Meter assigned"),
    "meter.replace": gettext_lazy("Meter replaced"),
    "meter.faulty": gettext_lazy("Meter marked faulty"),
    "meter.to_stock": gettext_lazy("Meter returned to stock"),
    "meter.retire": gettext_lazy("Meter retired"),
    "meter.set_ratios": gettext_lazy("Meter multiplier changed"),
    "meter.bind": gettext_lazy("Meter bound to its connection"),
    "meter.command.queue": gettext_lazy("Remote command queued"),
    "meter.command.confirm": gettext_lazy("Remote command confirmed"),
    "meter.command.retry": gettext_lazy("Remote command retried"),
    "meter.command.fail": gettext_lazy("Remote command failed"),
    "meter.command.cancel": gettext_lazy("Remote command cancelled"),
    "meter.command.hold": gettext_lazy("Remote command held"),
    "meter.command.overdue": gettext_lazy("Remote command overdue"),
    "meter.dtu_claim_refused": gettext_lazy("Second connection for a DTU refused"),
    "meter.dtu_takeover": gettext_lazy("DTU connection taken over"),
    "token.credit": gettext_lazy("Credit token issued"),
    "token.reprint": gettext_lazy("Token shown again"),
    "token.key_change": gettext_lazy("Key-change tokens issued"),
    "token.clear_credit": gettext_lazy("Clear-credit token issued"),
    "token.clear_tamper": gettext_lazy("Clear-tamper token issued"),
    "token.max_power": gettext_lazy("Maximum-power token issued"),
    "token.phase_unbalance": gettext_lazy("Phase-unbalance token issued"),
    "token.tariff_rate": gettext_lazy("Tariff-rate token issued"),
    "token.water_factor": gettext_lazy("Water-factor token issued"),
    "delivery.create": gettext_lazy("Carried credit to deliver"),
    "delivery.retry": gettext_lazy("Carried credit delivered again"),
    "card.write": gettext_lazy("Written to the IC card"),
    "supply.protect": gettext_lazy("Supply protected"),
    "supply.unprotect": gettext_lazy("Supply protection ended"),
    "supply.restore": gettext_lazy("Supply restored"),
    "supply.trip": gettext_lazy("Supply cut"),
    "supply.close": gettext_lazy("Supply restored"),
    "bill.pay": gettext_lazy("Bill paid"),
    "billing.charge": gettext_lazy("Consumption charged"),
    "billing.charge_batch": gettext_lazy("Consumption charged"),
    "billing.fees": gettext_lazy("Fees charged"),
    "billing.bills": gettext_lazy("Monthly bills made"),
    "billing.apportion": gettext_lazy("Public-area use apportioned"),
    "shift.open": gettext_lazy("Shift opened"),
    "shift.close": gettext_lazy("Shift closed"),
    "float.topup": gettext_lazy("Agent float topped up"),
    "message.send": gettext_lazy("Message sent"),
    "message.read": gettext_lazy("Message read"),
    "portal.code": gettext_lazy("Portal sign-in code sent"),
    "portal.signin": gettext_lazy("Signed in to the portal"),
    "portal.signout": gettext_lazy("Signed out of the portal"),
    "analytics.case.check": gettext_lazy("Suspicious case checked"),
    "apiclient.create": gettext_lazy("API client created"),
    "apiclient.point": gettext_lazy("API client's vending point set"),
    "apiclient.revoke": gettext_lazy("API client revoked"),
    "audit.chain_keyed": gettext_lazy("Audit chain keyed"),
    "audit.key_rotated": gettext_lazy("Audit chain key rotated"),
    "keys.import": gettext_lazy("Vending keys imported"),
    "login.unlock": gettext_lazy("Sign-in lockout lifted"),
    "membership.delete": gettext_lazy("Role removed"),
    "membership.update": gettext_lazy("Role changed"),
    "payment.provider.active": gettext_lazy("Payment provider switched"),
    "payment.provider.create": gettext_lazy("Payment provider added"),
    "payment.provider.credentials": gettext_lazy("Payment provider credentials changed"),
    "tariff.version": gettext_lazy("Tariff version saved"),
    "user.create": gettext_lazy("Staff user created"),
    "user.update": gettext_lazy("Staff user changed"),
    "membership.create": gettext_lazy("Role given"),
    "tariff.create": gettext_lazy("Tariff created"),
    "tariff.update": gettext_lazy("Tariff changed"),
    "reconciliation.handover": gettext_lazy("Takings handed over"),
    "reconciliation.sign_off": gettext_lazy("Reconciliation signed off"),
}

#: the first part of a verb → a label for verbs of that family not in :data:`VERB_LABELS`
FAMILY_LABELS: dict[str, Any] = {
    "account": gettext_lazy("Account change"),
    "customer": gettext_lazy("Customer change"),
    "meter": gettext_lazy("Meter change"),
    "token": gettext_lazy("Token issued"),
    "billing": gettext_lazy("Billing"),
    "payment": gettext_lazy("Online payment"),
    "supply": gettext_lazy("Supply control"),
}


def verb_label(verb: str) -> str:
    """What audit verb ``verb`` is called on screen: its label, else its family's (``billing.settle.
    monthly`` → Billing), else "Other change" — never the code name itself."""
    verb = verb or ""
    if verb in VERB_LABELS:
        return str(VERB_LABELS[verb])
    if verb.endswith((".create", ".update", ".delete")) and verb.count(".") == 1:
        return {
            "create": _("Record created"),
            "update": _("Record changed"),
            "delete": _("Record deleted"),
        }[verb.rsplit(".", 1)[1]]
    family = verb.split(".", 1)[0]
    return str(FAMILY_LABELS.get(family, _("Other change")))


def _relay_words(state: str, water: bool) -> str:
    if water:
        return {"open": _("valve closed"), "closed": _("valve open")}.get(state, _("unknown"))
    return {"open": _("supply cut"), "closed": _("supply on")}.get(state, _("unknown"))


def event_text(kind: str, detail: Mapping[str, Any] | None, *, water: bool = False) -> str:
    """A meter event as a sentence (``relay {"from": "closed", "to": "open"}`` → "Relay opened:
    supply cut", or for a water meter "Valve closed"); an unknown kind is "Meter event"."""
    detail = detail if isinstance(detail, Mapping) else {}
    if kind == "relay":
        to, before = str(detail.get("to", "")), str(detail.get("from", ""))
        text = _("Valve: %(before)s → %(after)s.") if water else _("Relay: %(before)s → %(after)s.")
        return text % {"before": _relay_words(before, water), "after": _relay_words(to, water)}
    sentences = {
        "offline": _("The meter stopped answering."),
        "tamper": _("Tampering detected."),
        "online": _("The meter answers again."),
        "alarm": _("The meter raised an alarm."),
        "low_credit": _("Credit on the meter is low."),
        "credit_exhausted": _("Credit on the meter ran out."),
        "dtu_claim_refused": _("A second connection claiming this meter's DTU was refused."),
        "dtu_takeover": _("The connection of this meter's DTU was taken over."),
    }
    return sentences.get(kind, _("Meter event"))
