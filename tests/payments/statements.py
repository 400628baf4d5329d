"""Statement files in the providers' own formats, written as they are written (test helpers)."""

from __future__ import annotations

WECHAT_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
    "手续费,费率,订单金额,申请退款金额,费率备注"
)


def wechat_row(
    when: str,
    trade: str,
    order: str,
    amount: str,
    state: str = "SUCCESS",
    refund: str = "0.00",
    refund_no: str = "",
) -> str:
    cells = [
        when,
        "wx2421b1c4370ec43b",
        "1900000001",
        "0",
        "",
        trade,
        order,
        "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "NATIVE",
        state,
        "OTHERS",
        "CNY",
        amount if state == "SUCCESS" else "0.00",
        "0.00",
        "5030000001" if refund_no else "0",
        refund_no or "0",
        refund,
        "0.00",
        "ORIGINAL" if refund_no else "",
        "SUCCESS" if refund_no else "",
        "预付费",
        "",
        "0.30000",
        "0.60%",
        amount,
        refund,
        "",
    ]
    return ",".join("`" + c for c in cells)


def wechat_bill(*rows: str) -> bytes:
    summary = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
    lines = ["\ufeff" + WECHAT_HEADER, *rows, summary, f"`{len(rows)},`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00"]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


ALIPAY_HEADER = "账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注"


def alipay_row(
    when: str, trade: str, order: str, income: str = "0.00", expense: str = "0.00", kind: str = "在线支付"
) -> str:
    cells = [
        "20886" + trade[-8:],
        trade,
        order,
        "预付费",
        when,
        "buyer@example.cn",
        income,
        expense,
        "1000.00",
        "支付宝",
        kind,
        "",
    ]
    return ",".join(c + "\t" for c in cells)


def alipay_statement(*rows: str) -> bytes:
    lines = [
        "#支付宝账务明细查询",
        "#账号：[20880000000000010156]",
        "#起始日期：[2026年06月12日 00:00:00]   终止日期：[2026年06月13日 00:00:00]",
        "#-----------------------------------------账务明细列表----------------------------------------",
        ALIPAY_HEADER,
        *rows,
        "#-----------------------------------------账务明细列表结束------------------------------------",
        "#收入合计：1笔，共50.00元",
        "#导出时间：[2026年06月13日 09:19:01]",
    ]
    return "\r\n".join(lines).encode("gb18030")
