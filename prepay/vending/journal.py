"""Journal entries that touch no customer account (agent float top-ups)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from prepay.vending import ledger
from prepay.vending.models import JournalLine


def record_float_topup(point: Any, amount: Decimal) -> None:
    """Cash received from an agent (debit cash) owed back as vends (credit the agent float)."""
    journal = uuid.uuid4()
    JournalLine.objects.bulk_create(
        [
            JournalLine(
                journal=journal,
                book=ledger.CASH,
                amount=amount,
                site_id=point.site_id,
                point=point,
                method="cash",
            ),
            JournalLine(
                journal=journal, book=ledger.AGENT_FLOAT, amount=-amount, site_id=point.site_id, point=point
            ),
        ]
    )
