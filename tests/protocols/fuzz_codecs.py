"""Stdlib-only fuzz runner for long sessions outside pytest (pytest runs the hypothesis versions).

    python -m tests.protocols.fuzz_codecs [iterations] [seed]

Feeds random and mutated bytes into every decoder; anything but ProtocolError is a crash, printed
with the input that caused it (exit status 1).
"""

from __future__ import annotations

import random
import sys
import traceback

from prepay.domain.protocols import cjt188, mqtt
from prepay.domain.protocols import dlt645 as d
from tests.protocols import vectors as v
from tests.protocols.test_fuzz import only_protocol_errors, parse_every_way_188, parse_every_way_645

TOPICS = [
    "data/up/pk/sn",
    "indicate/dev/pk/sn",
    "sys/dev/pk/sn",
    "indicate/server/pk/sn",
    "/gw/acrelHW/p/login/sn",
]


def one(rng: random.Random) -> bytes:
    if rng.random() < 0.5:
        return rng.randbytes(rng.randint(0, 300))
    m = bytearray(rng.choice(v.ALL_645 + v.ALL_188))
    for _ in range(rng.randint(1, 4)):
        m[rng.randrange(len(m))] = rng.randrange(256)
    return bytes(m)


def run(iterations: int, seed: int) -> int:
    rng = random.Random(seed)
    reader645, reader188 = d.FrameReader(), cjt188.FrameReader()
    for i in range(iterations):
        raw = one(rng)
        try:
            frame = only_protocol_errors(d.decode_frame, raw)
            if frame is not None:
                parse_every_way_645(frame)
            water = only_protocol_errors(cjt188.decode_frame, raw)
            if water is not None:
                parse_every_way_188(water)
            for f in reader645.feed(raw):
                parse_every_way_645(f)
            for g in reader188.feed(raw):
                parse_every_way_188(g)
            for topic in TOPICS:
                for fn in (mqtt.parse_uplink, mqtt.parse_downlink):
                    only_protocol_errors(fn, topic, raw)
        except Exception:
            traceback.print_exc()
            print(f"crash at iteration {i}, input {raw.hex()}")
            return 1
    print(f"{iterations} inputs, no crash (seed {seed})")
    return 0


if __name__ == "__main__":
    sys.exit(
        run(int(sys.argv[1]) if len(sys.argv) > 1 else 20000, int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    )
