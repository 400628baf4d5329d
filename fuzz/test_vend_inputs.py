"""Fuzz the money path with a real account: random JSON in every field of a vend and a quote must get a
documented answer (never a 5xx), and a vend that succeeds sold exactly the plain decimal it was sent."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prepay.domain.typed import TypedError, plain_decimal
from prepay.vending.models import Vend

EXAMPLES = int(os.environ.get("PREPAY_FUZZ_EXAMPLES", "40")) * 3
DOCUMENTED = {200, 201, 400, 401, 403, 404, 409, 422}
_keys = count()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.text(alphabet="0123456789.-+eE_,１２３．  \x00", max_size=20),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
)
values = st.one_of(
    scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=5), scalars, max_size=3)
)


@pytest.mark.django_db
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    amount=values,
    energy=st.one_of(st.none(), values),
    method=st.one_of(st.just("cash"), values),
    reference=st.one_of(st.just(""), values),
)
def test_a_vend_answers_as_documented(
    shop: Any, api_key: str, amount: Any, energy: Any, method: Any, reference: Any
):
    body = {
        "account_id": shop.account.pk,
        "amount": amount,
        "energy": energy,
        "method": method,
        "reference": reference,
    }
    before = Vend.objects.count()
    r = Client().post(
        "/api/vends",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": f"fz-{next(_keys)}"},
    )
    assert r.status_code in DOCUMENTED, (r.status_code, r.content[:300])
    if r.status_code != 201:
        assert Vend.objects.count() == before
        return
    sold = Decimal(r.json()["amount"])
    if energy is None:
        try:
            assert sold == plain_decimal(amount, 2)
        except TypedError:  # pragma: no cover - the API would have refused it
            pytest.fail(f"sold {sold} for {amount!r}")
