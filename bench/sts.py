"""Throughput benchmark of the STS engine (standalone: ``python bench/sts.py [--n N]``).

Prints tokens/s for EA07 credit tokens with DKGA02 and DKGA04 keys (decoder key derived per
token vs cached), one by one through the api, through the api batch helper and through the
JSON-lines batch processor in-process, plus decodes/s; beside each, a baseline measured in the
same run: single-block DES encryptions/s through ``cryptography``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prepay.domain.tokens.sts import api  # noqa: E402
from prepay.domain.tokens.sts.batch import run_batch  # noqa: E402
from prepay.domain.tokens.sts.dea import des_encrypt_block  # noqa: E402
from prepay.domain.tokens.sts.sta import sta_cipher  # noqa: E402

K02 = {
    "dkga": "02", "vending_key": "ABABABABABABABAB", "supply_group_code": "123456", "tariff_index": "01",
    "key_revision": 1, "key_type": 2, "pan": "600727000000000009", "base_date": 1993, "encryption_algorithm": "07",
}  # fmt: skip
K04 = {**K02, "dkga": "04", "vending_key": "ABABABABABABABAB949494949494949401234567", "base_date": 2014}
WHEN = datetime(2004, 4, 1, 0, 30)


def rate(fn: Callable[[int], object], n: int) -> float:
    """Items per second of ``fn(n)`` which must process n items."""
    start = time.perf_counter()
    fn(n)
    return n / (time.perf_counter() - start)


def des_baseline(n: int) -> None:
    key = bytes.fromhex("ABABABABABABABAB")
    for i in range(n):
        des_encrypt_block(key, i)


def one_by_one(key: dict[str, object], cached: bool) -> Callable[[int], None]:
    dk = api.decoder_key(key)

    def run(n: int) -> None:
        for i in range(n):
            k = dk if cached else api.decoder_key(key)
            if not cached:
                sta_cipher.cache_clear()  # measure table building too
            api.credit_token(k, 0, "25.6", tid=1000 + i, base_date=1993, rnd=5)

    return run


def api_batch(key: dict[str, object]) -> Callable[[int], None]:
    dk = api.decoder_key(key)

    def run(n: int) -> None:
        api.credit_tokens(dk, [(0, "25.6", 1000 + i, 5) for i in range(n)])

    return run


def jsonl_batch(key: dict[str, object], by_key: bool) -> Callable[[int], None]:
    dk = api.decoder_key(key).hex()

    def run(n: int) -> None:
        lines = []
        for i in range(n):
            req: dict[str, object] = {
                "op": "credit",
                "subclass": 0,
                "amount": "25.6",
                "tid": 1000 + i,
                "rnd": 5,
            }
            if by_key:
                req["key"] = key
            else:
                req["decoder_key"] = dk
            lines.append(json.dumps(req))
        out = io.StringIO()
        ok, failed = run_batch(lines, out)
        assert failed == 0 and ok == n

    return run


def decodes(key: dict[str, object]) -> Callable[[int], None]:
    dk = api.decoder_key(key)
    tokens = api.credit_tokens(dk, [(0, "25.6", 1000 + i, 5) for i in range(2000)])

    def run(n: int) -> None:
        for i in range(n):
            api.decode(tokens[i % 2000], dk)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="STS engine throughput")
    parser.add_argument("--n", type=int, default=20000, help="tokens per measurement (default 20000)")
    n = parser.parse_args(argv).n
    small = max(n // 10, 200)
    des = rate(des_baseline, n)
    rows: list[tuple[str, float]] = []
    for name, key in (("DKGA02", K02), ("DKGA04", K04)):
        rows.append((f"{name} one-by-one, key derived per token", rate(one_by_one(key, False), small)))
        rows.append((f"{name} one-by-one, decoder key cached", rate(one_by_one(key, True), n)))
        rows.append((f"{name} api.credit_tokens batch", rate(api_batch(key), n)))
        rows.append((f"{name} JSON-lines batch, decoder_key", rate(jsonl_batch(key, False), n)))
        rows.append((f"{name} JSON-lines batch, key params", rate(jsonl_batch(key, True), n)))
    rows.append(("decode (api.decode, cached key)", rate(decodes(K02), n)))
    width = max(len(r[0]) for r in rows)
    print(
        f"Python {sys.version.split()[0]}, n={n}; baseline: {des:,.0f} single-block DES encryptions/s (cryptography)"
    )
    print(f"{'measurement':<{width}}  {'per second':>12}  {'vs DES':>7}")
    print("-" * (width + 23))
    for label, value in rows:
        print(f"{label:<{width}}  {value:>12,.0f}  {value / des:>6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
