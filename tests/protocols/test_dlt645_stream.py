"""DL/T 645 stream reader: preambles, garbage, partial frames, bad checksums, resynchronisation."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from prepay.domain.protocols import dlt645 as d

from . import vectors as v
from .strategies import addresses


def feed_all(reader: d.FrameReader, chunks: list[bytes]) -> list[d.Frame]:
    return [frame for chunk in chunks for frame in reader.feed(chunk)]


class Dlt645FrameReaderTestCase:
    def test_it_resynchronises_after_garbage_and_a_half_frame(self):
        stream = b"\x00\x12\x68\x99garbage" + b"\xfe\xfe" + v.S7_RSP + v.C3_RSP[:12] + v.C3_RSP
        frames = d.FrameReader().feed(stream)
        assert frames == [d.decode_frame(v.S7_RSP), d.decode_frame(v.C3_RSP)]

    def test_it_delivers_the_same_frames_byte_by_byte(self):
        stream = b"\x00\x12\x68\x99garbage" + b"\xfe\xfe" + v.S7_RSP + v.C3_RSP[:12] + v.C3_RSP
        reader = d.FrameReader()
        frames = feed_all(reader, [bytes([b]) for b in stream])
        assert frames == [d.decode_frame(v.S7_RSP), d.decode_frame(v.C3_RSP)]
        assert reader.pending() == b""

    def test_it_skips_a_frame_with_a_bad_checksum_and_keeps_the_next(self):
        bad = bytearray(v.S7_RSP)
        bad[-2] ^= 0xFF
        reader = d.FrameReader()
        assert reader.feed(bytes(bad) + v.S9_RSP) == [d.decode_frame(v.S9_RSP)]
        assert reader.rejected >= 1

    def test_it_skips_a_frame_with_a_bad_end_byte(self):
        bad = v.S7_RSP[:-1] + b"\x00"
        assert d.FrameReader().feed(bad + v.C2) == [d.decode_frame(v.C2)]

    def test_it_waits_for_the_rest_of_a_frame(self):
        reader = d.FrameReader()
        assert reader.feed(v.C6_REQ[:20]) == []
        assert reader.pending() == v.C6_REQ[4:20]
        assert reader.feed(v.C6_REQ[20:]) == [d.decode_frame(v.C6_REQ)]

    def test_it_counts_discarded_preamble_and_noise(self):
        reader = d.FrameReader()
        reader.feed(b"\xfe\xfe\xfe\xfe\x01\x02")
        assert reader.discarded == 6 and reader.pending() == b""

    @given(
        st.lists(st.binary(max_size=20).map(lambda b: b.replace(b"\x68", b"")), min_size=3, max_size=3),
        st.lists(st.sampled_from(v.ALL_645), min_size=1, max_size=2),
        st.data(),
    )
    def test_it_finds_every_frame_between_any_noise_without_start_bytes(self, noise, frames, data):
        stream = noise[0] + frames[0] + noise[1] + (frames[1] if len(frames) > 1 else b"") + noise[2]
        cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
        chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        assert feed_all(d.FrameReader(), chunks) == [d.decode_frame(f) for f in frames]

    @given(addresses, st.binary(max_size=40), st.integers(0, 255))
    def test_it_finds_a_frame_after_a_truncated_one(self, address, data, control):
        frame = d.Frame(address, control, data)
        raw = d.encode_frame(frame)
        half = raw[: len(raw) // 2]
        got = d.FrameReader().feed(half + raw + b"\x00" * 300)
        assert frame in got
