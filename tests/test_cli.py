from __future__ import annotations

import json
import os
import subprocess
import sys

from prepay.cli import locale_language


def run_prepay(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PREPAY_LANGUAGE", None)
    return subprocess.run(
        [sys.executable, "-m", "prepay.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=stdin,
        timeout=120,
        check=False,
    )


class CliTestCase:
    def test_it_picks_the_language_from_the_locale(self):
        assert locale_language({"LANG": "zh_CN.UTF-8"}) == "zh-hans"
        assert locale_language({"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"
        assert locale_language({}) == "en"

    def test_it_prints_help_in_english(self):
        out = run_prepay("--help", env={"LANG": "en_US.UTF-8", "LC_ALL": ""})
        assert out.returncode == 0
        assert "Usage: prepay <command>" in out.stdout and "Database care" in out.stdout

    def test_it_prints_help_in_chinese(self):
        out = run_prepay("--help", env={"LANG": "zh_CN.UTF-8", "LC_ALL": ""})
        assert out.returncode == 0
        assert "用法" in out.stdout and "数据库" in out.stdout

    def test_it_runs_the_sts_batch_without_a_database(self):
        line = json.dumps(
            {
                "op": "decoder_key",
                "key": {
                    "dkga": "02",
                    "vending_key": "ABABABABABABABAB",
                    "supply_group_code": "123456",
                    "tariff_index": "01",
                    "key_revision": 1,
                    "key_type": 2,
                    "pan": "600727000000000009",
                },
            }
        )
        out = run_prepay(
            "sts", "batch", stdin=line + "\n{bad json\n", env={"DATABASE_URL": "postgres://nowhere:1/x"}
        )
        assert out.returncode == 0, out.stderr
        first, second = [json.loads(x) for x in out.stdout.splitlines()]
        assert first == {"decoder_key": "E653341F9D5BF36F"}
        assert second["error"]["code"]

    def test_it_forwards_other_commands_to_django(self):
        out = run_prepay("keys", "--help", env={"LANG": "en_US.UTF-8", "LC_ALL": ""})
        assert out.returncode == 0 and "rotate" in out.stdout
