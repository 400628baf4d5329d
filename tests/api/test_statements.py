"""What one API vend costs in SQL statements (issue 17); counted, never timed. The test's own
transaction turns the sale's transaction into a savepoint: those two statements are a server's
BEGIN and COMMIT and are not counted. The answer is built from the rows just written: it must
equal what a later read and a replay give."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

#: statements of one API vend of an STS token (issue 17 aims at 15; see docs/api.md "Cost of a vend")
API_VEND_STATEMENTS = 15


def _sell(shop, api, idem: str, **body):
    r = api.post("/vends", {"account_number": shop.account.number, **body}, idem=idem)
    assert r.status == 201, r.data
    return r


def test_an_api_vend_stays_within_its_statements(shop, api):
    _sell(shop, api, "warm", amount="10")  # first use: token state row, caches
    with CaptureQueriesContext(connection) as ctx:
        _sell(shop, api, "count", amount="10")
    statements = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) <= API_VEND_STATEMENTS, "\n".join(s[:160] for s in statements)


@pytest.mark.parametrize("body", [{"amount": "10"}, {"energy": "7.5"}, {"amount": "33.33"}])
def test_the_answer_is_what_reading_the_vend_again_gives(shop, api, body):
    first = _sell(shop, api, "answer", **body)
    assert first.data["tokens"] and first.data["balance_after"] is not None
    assert api.get(f"/vends/{first.data['id']}").data == first.data
    replay = api.post("/vends", {"account_number": shop.account.number, **body}, idem="answer")
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.data == first.data


def test_an_account_with_its_own_tariff_skips_the_site_default(shop, api):
    """The site default and its versions are one query; an account's own tariff, its versions only."""
    from prepay.tariffs.engine import assigned_tariff

    _sell(shop, api, "warm", amount="10")
    with CaptureQueriesContext(connection) as by_default:
        _sell(shop, api, "by-default", amount="10")
    shop.account.tariff = assigned_tariff(shop.account)
    shop.account.save(update_fields=["tariff"])
    with CaptureQueriesContext(connection) as own:
        _sell(shop, api, "own", amount="10")
    assert len(own.captured_queries) == len(by_default.captured_queries)
    assert any("tariffs_sitetariff" in q["sql"] for q in by_default.captured_queries)
    assert not any("tariffs_sitetariff" in q["sql"] for q in own.captured_queries)
