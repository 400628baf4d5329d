"""Built-in notification texts in Simplified Chinese and English (a group may override them with
:class:`prepay.notify.models.Template`). Placeholders use ``str.format`` names from the context."""

from __future__ import annotations

from typing import Any

#: key -> language -> (subject, body)
BUILTIN: dict[str, dict[str, tuple[str, str]]] = {
    "level1": {
        "zh-hans": (
            "余额不足提醒",
            "尊敬的{customer}：您的账户{account}余额为{balance}元，已低于{threshold}元，请及时充值。",
        ),
        "en": (
            "Low balance",
            "Dear {customer}, the balance of account {account} is {balance}, below {threshold}. Please top up.",
        ),
    },
    "level2": {
        "zh-hans": (
            "余额不足，已提醒断电",
            "尊敬的{customer}：您的账户{account}余额为{balance}元，已低于{threshold}元，系统已断电提醒一次。"
            "请联系物业或在客户端恢复供电，并尽快充值。",
        ),
        "en": (
            "Balance low: supply cut once as a reminder",
            "Dear {customer}, the balance of account {account} is {balance}, below {threshold}. Supply was cut "
            "once as a reminder; restore it yourself or ask the office, and top up soon.",
        ),
    },
    "zero": {
        "zh-hans": (
            "余额已用尽，已断电",
            "尊敬的{customer}：您的账户{account}余额为{balance}元，已停止供应，充值后自动恢复。",
        ),
        "en": (
            "Credit exhausted: supply cut",
            "Dear {customer}, the balance of account {account} is {balance}. Supply is cut and comes back "
            "automatically when you pay.",
        ),
    },
    "overdue": {
        "zh-hans": (
            "账单逾期",
            "尊敬的{customer}：您的账户{account}有逾期未付账单，欠费{arrears}元，请尽快缴费，逾期将停止供应。",
        ),
        "en": (
            "Bill overdue",
            "Dear {customer}, account {account} has an overdue bill; {arrears} is owed. Please pay, or supply "
            "will be cut.",
        ),
    },
    "bill": {
        "zh-hans": (
            "账单",
            "尊敬的{customer}：您的账户{account} {period}账单金额{amount}元，请于{due}前缴纳。",
        ),
        "en": (
            "Your bill",
            "Dear {customer}, the bill of account {account} for {period} is {amount}, due {due}.",
        ),
    },
    # to staff (the site's clerks): a remote command that failed for good, a supply restore overdue
    "command_failed": {
        "zh-hans": (
            "远程命令失败：{what}",
            "{site}：表计{meter}（账户{account}，{customer}）的“{what}”命令尝试{attempts}次后失败：{error}。"
            "于{when}停止重试。请检查表计通信，或到现场处理。",
        ),
        "en": (
            "Remote command failed: {what}",
            '{site}: the "{what}" command for meter {meter} (account {account}, {customer}) failed after '
            "{attempts} attempts: {error}. Gave up at {when}. Check the meter's communication or go on site.",
        ),
    },
    "restore_overdue": {
        "zh-hans": (
            "恢复供电未确认：{account}",
            "{site}：账户{account}（{customer}）{why}，但表计{meter}的合闸命令（{since}发出）至今未确认"
            "（已尝试{attempts}次{last_error}）。系统仍在重试，下次{next}。请检查表计，或到现场恢复供电。",
        ),
        "en": (
            "Supply restore not confirmed: {account}",
            "{site}: account {account} ({customer}): {why}, but the close command for meter {meter}, queued "
            "at {since}, is still not confirmed ({attempts} attempts{last_error}). It keeps retrying (next: {next}). "
            "Check the meter or restore supply on site.",
        ),
    },
}


class _Safe(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(subject: str, body: str, context: dict[str, Any]) -> tuple[str, str]:
    """Fill placeholders; an unknown placeholder stays as written rather than failing the send."""
    ctx = _Safe(context)
    return subject.format_map(ctx), body.format_map(ctx)


def language_of(code: str) -> str:
    """The template language for a Django language code: ``zh-hans`` for any Chinese, else ``en``."""
    return "zh-hans" if code.lower().startswith("zh") else "en"
