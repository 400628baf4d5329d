"""Fuzz the vending API from its own OpenAPI schema (schemathesis over the WSGI app, in process).

Every generated request — valid by the schema or deliberately not — must get an answer the schema
documents: never a 5xx, never a status code, content type or body the schema does not declare.
Run with ``make fuzz`` (CI runs it); ``PREPAY_FUZZ_EXAMPLES`` sets the examples per operation.
"""

from __future__ import annotations

import os
from itertools import count
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from prepay.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
# valid requests and deliberately invalid ones (wrong types, missing fields, out-of-range values)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
EXAMPLES = int(os.environ.get("PREPAY_FUZZ_EXAMPLES", "40"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
_keys = count()


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_api_answers_as_documented(case: Any, api_key: str) -> None:
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": f"fuzz-{next(_keys)}"}
    case.call_and_validate(headers=headers, checks=CHECKS)
