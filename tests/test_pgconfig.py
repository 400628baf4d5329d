"""PostgreSQL's prepared statements: PREPAY_PG_PREPARE (prepay/common/pgconfig.py, prepay/settings.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from prepay.common.pgconfig import postgres_options
from prepay.tenancy.models import PropertyGroup
from tests.conftest import PG_ONLY


class PostgresOptionsTestCase:
    def test_unset_binds_on_the_server_and_prepares_after_five_runs(self):
        assert postgres_options({}) == {"server_side_binding": True, "prepare_threshold": 5}
        assert postgres_options({"PREPAY_PG_PREPARE": " "}) == postgres_options({})

    def test_a_number_is_the_runs_before_a_statement_is_prepared(self):
        assert postgres_options({"PREPAY_PG_PREPARE": "1"}) == {
            "server_side_binding": True,
            "prepare_threshold": 1,
        }
        assert postgres_options({"PREPAY_PG_PREPARE": " 20 "})["prepare_threshold"] == 20

    def test_zero_never_prepares_and_binds_in_the_client(self):
        assert postgres_options({"PREPAY_PG_PREPARE": "0"}) == {}

    @pytest.mark.parametrize("raw", ["-1", "yes", "1.5", "５", "0x10"])
    def test_anything_else_stops_the_start_naming_the_setting(self, raw):
        with pytest.raises(ImproperlyConfigured, match="PREPAY_PG_PREPARE"):
            postgres_options({"PREPAY_PG_PREPARE": raw})


def database_options(tmp_path: Path, url: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The settings' OPTIONS for DATABASE_URL ``url`` in a fresh process (no database is opened)."""
    code = (
        "import json; from django.conf import settings; d = settings.DATABASES; "
        "print(json.dumps({k: d[k].get('OPTIONS') for k in d}))"
    )
    # only what the test gives: not this shell's replica or PREPAY_PG_PREPARE
    full_env = {k: v for k, v in os.environ.items() if k not in ("PREPAY_REPLICA_URL", "PREPAY_PG_PREPARE")}
    full_env.update(
        DJANGO_SETTINGS_MODULE="prepay.settings",
        PREPAY_VAR_DIR=str(tmp_path),
        PREPAY_SECRET_KEY="pgconfig-" + "x" * 40,
        DATABASE_URL=url,
        **env,
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=60, check=False
    )


class SettingsTestCase:
    PG = "postgres://prepay@127.0.0.1:5432/prepay?sslmode=disable"

    def test_postgresql_prepares_and_keeps_the_urls_own_options(self, tmp_path):
        out = database_options(tmp_path, self.PG, PREPAY_PG_PREPARE="7")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["default"] == {
            "server_side_binding": True,
            "prepare_threshold": 7,
            "sslmode": "disable",
        }

    def test_the_replica_is_configured_alike(self, tmp_path):
        replica = "postgres://prepay@127.0.0.1:5433/prepay"
        out = database_options(tmp_path, self.PG, PREPAY_REPLICA_URL=replica)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["replica"] == {"server_side_binding": True, "prepare_threshold": 5}

    def test_zero_leaves_postgresql_as_django_has_it(self, tmp_path):
        out = database_options(tmp_path, self.PG, PREPAY_PG_PREPARE="0")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["default"] == {"sslmode": "disable"}

    def test_sqlite_is_untouched(self, tmp_path):
        out = database_options(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", PREPAY_PG_PREPARE="3")
        assert out.returncode == 0, out.stderr
        options = json.loads(out.stdout)["default"]
        assert "prepare_threshold" not in options and options["transaction_mode"] == "IMMEDIATE"

    def test_a_bad_value_stops_the_start(self, tmp_path):
        out = database_options(tmp_path, self.PG, PREPAY_PG_PREPARE="many")
        assert out.returncode != 0
        assert "ImproperlyConfigured" in out.stderr and "PREPAY_PG_PREPARE='many'" in out.stderr


def prepared_statements() -> list[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cur.fetchall()]


@pytest.mark.django_db
def test_a_statement_run_again_and_again_is_prepared_and_reads_the_same():
    if connection.vendor != "postgresql":
        pytest.skip(PG_ONLY)
    threshold = connection.settings_dict["OPTIONS"].get("prepare_threshold")
    if threshold is None:
        pytest.skip("PREPAY_PG_PREPARE=0: this run prepares no statements")
    groups = [PropertyGroup.objects.create(code=f"pc{i}", name=f"Prepared {i}") for i in range(threshold + 2)]

    def read(group: PropertyGroup) -> list[tuple[str, str]]:
        # a shape no other code runs, so this connection has not prepared it before
        return list(
            PropertyGroup.objects.filter(code=group.code, name__startswith="Prepared")
            .order_by("-name", "code")
            .values_list("code", "name")
        )

    def ours() -> list[str]:
        return [s for s in prepared_statements() if '"tenancy_propertygroup"' in s and "LIKE" in s]

    assert read(groups[0]) == [("pc0", "Prepared 0")]
    assert ours() == []  # one run: parsed and planned as it came
    for group in groups[1:]:
        # each run binds its own values, prepared or not
        assert read(group) == [(group.code, group.name)]
    [statement] = ours()
    assert "$1" in statement and "pc" not in statement  # the values are bound, not in the SQL
