"""Provider adapters: :func:`adapter_for` gives the one a provider row needs (see base.py)."""

from __future__ import annotations

from typing import Any

from prepay.payments.adapters.base import Adapter


def adapter_for(provider: Any) -> Adapter:
    """The adapter of ``provider``, holding its opened secrets for this call only."""
    from prepay.payments.adapters.alipay import AlipayAdapter
    from prepay.payments.adapters.simulated import SimulatedAdapter
    from prepay.payments.adapters.wechat import WeChatPayAdapter
    from prepay.payments.credentials import unseal

    classes: dict[str, Any] = {
        "wechat": WeChatPayAdapter,
        "alipay": AlipayAdapter,
        "simulated": SimulatedAdapter,
    }
    return classes[provider.kind](provider, unseal(provider))  # type: ignore[no-any-return]
