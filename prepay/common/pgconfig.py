"""PostgreSQL connection options (read by prepay/settings.py; no Django app needed).

``PREPAY_PG_PREPARE`` — how many times a connection runs a statement before it asks PostgreSQL to
prepare it (parse and plan it once, then only bind and run it):

=========  =============================================================================================
unset      5 (psycopg's own default): a gunicorn worker prepares what it runs again and again — the
           sale's reads and inserts, the API key lookup — within its first requests
``n``      a positive whole number: prepare after ``n`` runs
``0``      never prepare; also binds parameters in the client, as Django does by default. Use it behind
           a connection pooler in transaction mode that does not track prepared statements (PgBouncer
           before 1.21, or without ``max_prepared_statements``)
=========  =============================================================================================

Preparing needs server-side binding (psycopg's ``Cursor``, Django's ``server_side_binding``): the
values travel apart from the SQL, and PostgreSQL keeps each connection's prepared statements until
the connection closes (``PREPAY_CONN_MAX_AGE``). psycopg keeps at most 100 of them per connection,
dropping the least recently used. On this machine it takes an API vend's statements from about
15 ms to about 8 ms of the database's time (docs/api.md). Restart the workers after a migration that
changes a column's type, as after any deployment: a prepared statement that reads such a column
would otherwise fail once with "cached plan must not change result type".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

DEFAULT_PREPARE_THRESHOLD = 5


def postgres_options(env: Mapping[str, str]) -> dict[str, Any]:
    """Django ``OPTIONS`` for a PostgreSQL database under ``env``'s ``PREPAY_PG_PREPARE``; a value
    that is not a whole number from 0 up stops the start with ImproperlyConfigured."""
    raw = env.get("PREPAY_PG_PREPARE", "").strip()
    if raw == "":
        threshold = DEFAULT_PREPARE_THRESHOLD
    elif raw.isascii() and raw.isdigit():
        threshold = int(raw)
    else:
        raise ImproperlyConfigured(
            f"PREPAY_PG_PREPARE={raw!r}: give a whole number of runs after which a statement is "
            "prepared (default 5), or 0 never to prepare."
        )
    if threshold == 0:
        return {}
    return {"server_side_binding": True, "prepare_threshold": threshold}
