"""Every vector again through the JSON-lines batch interface, run as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from .vectors import CREDIT, CURRENCY, DECODE, KEY_CHANGE, KEYS, MANAGEMENT, TEST, dk

ROOT = Path(__file__).resolve().parents[2]
LEGACY_ROUNDING_ROWS = {"C67", "C69"}


def run_batch(lines: list[str]) -> tuple[list[dict[str, Any]], subprocess.CompletedProcess[str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "prepay.domain.tokens.sts.cli", "batch"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    return [json.loads(line) for line in proc.stdout.splitlines()], proc


def _when(row: dict[str, Any]) -> dict[str, Any]:
    return {"issued_at": row["issued_at"]} if "issued_at" in row else {"tid": row["tid"]}


def _credit_request(row: dict[str, Any]) -> dict[str, Any]:
    req: dict[str, Any] = {
        "op": "credit",
        "subclass": row["sub"],
        "amount": row["amount"],
        "base_date": row["base"],
    }
    params = KEYS[row["key"]][0]
    if params is not None and params["base_date"] == row["base"]:
        req["key"] = params  # derive the key inside the batch when the base dates agree
    else:
        req["decoder_key"] = dk(row["key"])
    if "rnd" in row:
        req["rnd"] = row["rnd"]
    if row["id"] in LEGACY_ROUNDING_ROWS:
        req["rounding"] = "legacy"
    return {**req, **_when(row), "id": row["id"]}


class BatchVectorsTestCase:
    def test_it_reproduces_every_vector_in_one_batch(self) -> None:
        requests: list[dict[str, Any]] = []
        expected: list[dict[str, Any]] = []
        for key_id, (params, hex_key) in KEYS.items():
            if params is not None:
                requests.append({"op": "decoder_key", "key": params, "id": key_id})
                expected.append({"id": key_id, "decoder_key": hex_key})
        for row in CREDIT + CURRENCY:
            requests.append(_credit_request(row))
            expected.append({"id": row["id"], "token": row["token"]})
        for row in MANAGEMENT:
            requests.append(
                {"op": "management", "decoder_key": dk(row["key"]), "subclass": row["sub"], "value": row["value"],
                 "base_date": row["base"], "rnd": row["rnd"], "id": row["id"], **_when(row)}
            )  # fmt: skip
            expected.append({"id": row["id"], "token": row["token"]})
        for row in TEST:
            requests.append(
                {"op": "test", "subclass": row["sub"], "control": row["control"],
                 "manufacturer_code": row["mfr"], "id": row["id"]}
            )  # fmt: skip
            expected.append({"id": row["id"], "token": row["token"]})
        for row in KEY_CHANGE:
            requests.append(
                {"op": "key_change", "old_decoder_key": dk(row["old"]), "new_decoder_key": dk(row["new"]),
                 "new_key_revision": row["krn"], "new_key_type": row["kt"], "new_tariff_index": f"{row['ti']:02d}",
                 "ken_high": row["ken_high"], "ken_low": row["ken_low"], "rollover": row["ro"],
                 "third_token": row["third"], "supply_group_code": "201457", "id": row["id"]}
            )  # fmt: skip
            expected.append({"id": row["id"], "tokens": row["tokens"]})
        responses, proc = run_batch([json.dumps(r) for r in requests])
        assert proc.returncode == 0
        assert len(responses) == len(requests)
        for want, got in zip(expected, responses, strict=True):
            assert {k: got.get(k) for k in want} == want

    def test_it_decodes_the_decode_vectors(self) -> None:
        lines = [json.dumps({"op": "decode", "decoder_key": dk("STD"), "token": r["token"]}) for r in DECODE]
        responses, _ = run_batch(lines)
        assert [(r["class"], r["subclass"], r["crc_ok"]) for r in responses] == [
            (row["cls"], row["sub"], True) for row in DECODE
        ]
        first = responses[0]
        assert first == {
            "class": 0, "subclass": 0, "kind": "electricity_credit", "crc_ok": True, "tid": 1698595,
            "issued_at": "1996-03-25T13:55", "rnd": 11, "amount": "25.6",
        }  # fmt: skip
        assert responses[3]["new_key_high"] == "0ABC12DE"
        assert responses[3]["key_revision"] == 2
        assert responses[2]["value"] == 0xFFFF

    def test_it_decodes_a_currency_token_with_its_sign(self) -> None:
        responses, _ = run_batch(
            [
                json.dumps(
                    {
                        "op": "decode",
                        "decoder_key": dk("K04S"),
                        "token": "27792899833666285579",
                        "base_date": 2014,
                    }
                )
            ]
        )
        assert responses[0]["amount"] == "-0.99994"
        assert responses[0]["issued_at"] == "2025-05-21T11:12"
        assert responses[0]["subclass"] == 4


class BatchErrorsTestCase:
    def test_it_reports_bad_lines_and_goes_on_in_order(self) -> None:
        good = {"op": "test", "subclass": 0, "control": 1, "manufacturer_code": 0}
        lines = [
            json.dumps(good),
            "{not json",
            json.dumps({"op": "frobnicate"}),
            "",
            json.dumps({"op": "credit", "decoder_key": dk("K02A"), "subclass": 0, "issued_at": "2004-04-01T00:30"}),
            json.dumps({"op": "credit", "decoder_key": dk("K02A"), "subclass": 0, "amount": "1820162.5",
                        "issued_at": "2004-04-01T00:30"}),
            json.dumps({"op": "credit", "decoder_key": "XYZ", "subclass": 0, "amount": "1",
                        "issued_at": "2004-04-01T00:30"}),
            json.dumps({"op": "decode", "decoder_key": dk("K02A"), "token": "23716100501183194198"}),
            json.dumps({"op": "decode", "decoder_key": dk("K02A"), "token": "9" * 20}),
            json.dumps({"op": "credit", "decoder_key": dk("K02A"), "subclass": 9, "amount": "1",
                        "issued_at": "2004-04-01T00:30"}),
            "[1, 2]",
            json.dumps({"op": "management", "decoder_key": dk("K02A"), "subclass": 5, "value": 1,
                        "issued_at": "2004-04-01T00:30"}),
            json.dumps({"op": "credit", "decoder_key": dk("K02A"), "subclass": 0, "amount": "1",
                        "issued_at": "1992-12-31T23:59"}),
            json.dumps(good),
        ]  # fmt: skip
        responses, proc = run_batch(lines)
        assert proc.returncode == 0
        codes = [r["error"]["code"] if "error" in r else "ok" for r in responses]
        assert codes == [
            "ok", "invalid_json", "unknown_op", "missing_field", "amount_too_large", "invalid_input", "crc",
            "token_format", "out_of_range", "invalid_request", "out_of_range", "tid_out_of_range", "ok",
        ]  # fmt: skip
        assert responses[0] == responses[-1] == {"token": "00000000000150997584"}
        assert all(r["error"]["message"] for r in responses if "error" in r)

    def test_it_never_puts_the_vending_key_in_errors(self) -> None:
        secret = "0123456789ABCDEF0123456789ABCDEF01234567"
        bad_key = {"dkga": "02", "vending_key": secret, "supply_group_code": "123456", "tariff_index": "01",
                   "key_revision": 1, "key_type": 2, "pan": "600727000000000009"}  # fmt: skip
        responses, proc = run_batch(
            [json.dumps({"op": "decoder_key", "key": bad_key}),
             json.dumps({"op": "decoder_key", "key": {**bad_key, "vending_key": secret[:16], "pan": "600727000000000008"}})]
        )  # fmt: skip
        assert [r["error"]["code"] for r in responses] == ["invalid_input", "luhn"]
        assert secret[:16].lower() not in (proc.stdout + proc.stderr).lower()
