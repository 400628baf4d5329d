"""The concrete frames of specs/meter-protocols.md §1.9, §1.7 and §5 (hex as printed there).

Frames printed with a leading "…" are completed with the head of the frame they belong to
(same source, same meter): ``FE FE FE FE 68 94 35 21 90 88 55 68`` for the CSDN frames (C3-C7) and
``68 12 00 00 00 10 20 68`` for the Java simulator frames (S3-S9). The checksum covers 68..DATA only,
so the preamble does not change it.
"""

from __future__ import annotations

CSDN = "FE FE FE FE 68 94 35 21 90 88 55 68 "
SIM = "68 12 00 00 00 10 20 68 "
SIM_FE = "FE FE FE FE " + SIM


def h(text: str) -> bytes:
    return bytes.fromhex(text)


C1 = h("FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16")
C2 = h("FE FE FE FE 68 94 35 21 90 88 55 68 93 06 C7 68 54 C3 BB 88 49 16")
C3_REQ = h(CSDN + "11 04 33 33 34 33 09 16")
C3_RSP = h(CSDN + "91 08 33 33 34 33 59 35 33 33 81 16")
C4_REQ = h(CSDN + "11 04 33 34 34 35 0C 16")
C4_RSP = h(CSDN + "91 06 33 34 34 35 7B 55 5E 16")
C5_RSP = h(CSDN + "91 07 33 34 35 35 6B 35 33 63 16")
C6_REQ = h("FE FE FE FE 68 94 35 21 90 88 55 68 1C 10 35 33 33 33 33 33 33 33 4D 33 8C 8C 56 3C 3A 54 A5 16")
C6_RSP = h(CSDN + "9C 00 C3 16")
C7_REQ = h(CSDN + "1C 10 35 33 33 33 33 33 33 33 4F 33 35 73 4B 3A 3A 54 2A 16")
S1_REQ = h("68 AA AA AA AA AA AA 68 13 00 DF 16")
S1_RSP = h("68 12 00 00 00 10 20 68 93 06 45 33 33 33 43 53 1F 16")
S3_REQ = h("68 12 00 00 00 10 20 68 11 04 33 32 34 33 F3 16")
S3_RSP = h(SIM + "91 18 33 32 34 33 5C 34 33 33 95 33 33 33 93 33 33 33 36 33 33 33 35 33 33 33 74 16")
S4_RSP = h(SIM + "91 0A 33 32 34 35 89 55 32 32 32 32 21 16")
S5_REQ = h(SIM + "11 04 34 34 33 37 F9 16")
S5_RSP = h(SIM + "91 08 34 34 33 37 34 44 34 49 72 16")
S6_RSP = h(SIM + "91 07 35 34 33 37 88 86 54 DF 16")
S7_REQ = h("68 12 00 00 00 10 20 68 11 04 33 35 C3 33 85 16")
S7_RSP = h(SIM + "91 08 33 35 C3 33 89 CB 34 33 C4 16")
S8_REQ = h(SIM + "11 04 33 33 34 36 F7 16")
S8_RSP = h("68 12 00 00 00 10 20 68 D1 01 35 19 16")
S9_RSP = h(SIM + "91 07 33 40 63 36 5A 33 33 76 16")
R1 = h("FE FE FE FE 68 02 00 31 08 22 20 68 11 04 32 55 B3 35 D1 16")
P1 = h("FE FE FE FE 68 89 67 45 23 01 00 68 91 08 33 33 33 33 79 33 33 33 A0 16")
W1 = h("FE FE FE FE 68 48 89 09 19 08 21 68 14 0E 33 33 35 3D 35 33 33 33 33 33 33 33 33 33 E6 16")
V97A = h("68 63 01 43 03 00 00 68 01 02 43 C3 83 16")
V97B = h("68 54 07 13 00 80 13 68 81 06 43 C3 34 33 33 33 2B 16")
V97C_REQ = h("68 03 00 00 00 00 00 68 01 02 44 E9 03 16")
V97C_RSP = h("68 03 00 00 00 00 00 68 81 04 44 E9 33 34 EC 16")

#: §1.7 broadcast time 2026-11-23 10:30:45: correct, and what dlt645 3.2.0 emits.
TIME_OK = h("FE FE FE FE 68 99 99 99 99 99 99 68 08 06 78 63 43 56 44 59 85 16")
TIME_DLT645_BUG = h("FE FE FE FE 68 99 99 99 99 99 99 68 08 06 59 44 56 43 63 78 85 16")

#: Derived 0x1C frames for 201000000012, deadline 2026-12-31 23:59:59: N1 → (N1+0x33, CS).
DERIVED_1C = {
    0x1A: (0x4D, 0xC8),
    0x1B: (0x4E, 0xC9),
    0x1C: (0x4F, 0xCA),
    0x2A: (0x5D, 0xD8),
    0x2B: (0x5E, 0xD9),
    0x3A: (0x6D, 0xE8),
    0x3B: (0x6E, 0xE9),
}


def derived_1c(n1_wire: int, cs: int) -> bytes:
    return h(SIM_FE + f"1C 10 35 33 33 33 33 33 33 33 {n1_wire:02X} 33 8C 8C 56 64 45 59 {cs:02X} 16")


READ_04000503 = h(SIM_FE + "11 04 36 38 33 37 FF 16")

#: CJ/T 188 (§5).
CJT_READ = h("FE FE FE FE 68 10 44 33 22 11 00 33 78 01 03 1F 90 00 80 16")
CJT_OPEN = h("68 10 69 05 90 05 15 33 78 04 04 A0 17 01 55 50 16")
CJT_CLOSE = h("68 10 69 05 90 05 15 33 78 04 04 A0 17 01 99 94 16")
#: hftangyu's read reply as printed (its CS 08 is wrong, the spec computes 13).
CJT_REPLY_PAGE = h(
    "FE FE FE FE 68 10 44 33 22 11 00 33 78 81 16 1F 90 00 00 77 66 55 2C 00 77 66 55 2C "
    "31 01 22 11 05 15 20 21 84 08 16"
)

ALL_645 = [
    C1, C2, C3_REQ, C3_RSP, C4_REQ, C4_RSP, C5_RSP, C6_REQ, C6_RSP, C7_REQ, S1_REQ, S1_RSP, S3_REQ, S3_RSP,
    S4_RSP, S5_REQ, S5_RSP, S6_RSP, S7_REQ, S7_RSP, S8_REQ, S8_RSP, S9_RSP, R1, P1, W1, V97A, V97B,
    V97C_REQ, V97C_RSP, TIME_OK, TIME_DLT645_BUG, READ_04000503,
    *(derived_1c(*v) for v in DERIVED_1C.values()),
]  # fmt: skip
ALL_188 = [CJT_READ, CJT_OPEN, CJT_CLOSE]
