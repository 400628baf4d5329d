"""The on-card container, the simulated reader and the PC/SC backend's absence."""

from __future__ import annotations

import importlib.util

import pytest

from prepay.cardbridge import container
from prepay.cardbridge.opening import open_reader
from prepay.cardbridge.readers import ReaderError, SimulatedReader, read_image, write_image

IMAGE = b"PC\x01\x03ABC" + bytes(20)


class ContainerTestCase:
    def test_it_frames_an_image_and_reads_it_back(self):
        data = container.wrap(IMAGE)
        assert data.startswith(b"PPC1") and container.unwrap(data + bytes(30)) == IMAGE

    def test_a_blank_card_holds_nothing(self):
        assert container.unwrap(bytes(64)) is None and container.unwrap(b"\xff" * 64) is None

    def test_it_finds_a_torn_write(self):
        data = bytearray(container.wrap(IMAGE))
        data[-1] ^= 1
        with pytest.raises(container.ContainerError):
            container.unwrap(bytes(data))
        with pytest.raises(container.ContainerError):
            container.unwrap(container.wrap(IMAGE)[:-3])

    def test_it_refuses_an_empty_or_huge_image(self):
        for image in (b"", bytes(container.MAX_IMAGE + 1)):
            with pytest.raises(container.ContainerError):
                container.wrap(image)


class SimulatedReaderTestCase:
    def test_it_keeps_the_card_in_a_file_between_runs(self, tmp_path):
        path = tmp_path / "card.bin"
        assert write_image(SimulatedReader(path=path), IMAGE) == IMAGE
        assert read_image(SimulatedReader(path=path)) == IMAGE

    def test_it_refuses_without_a_card_or_beyond_its_memory(self):
        reader = SimulatedReader(capacity=16)
        with pytest.raises(ReaderError) as info:
            write_image(reader, IMAGE)
        assert info.value.code == "too_large"
        reader.remove()
        with pytest.raises(ReaderError) as info:
            read_image(reader)
        assert info.value.code == "no_card"

    def test_open_reader_knows_sim_and_refuses_anything_else(self):
        assert open_reader("sim").backend == "sim"
        with pytest.raises(ValueError):
            open_reader("floppy")


class PcscReaderTestCase:
    @pytest.mark.skipif(importlib.util.find_spec("smartcard") is not None, reason="pyscard is installed here")
    def test_it_says_how_to_install_pyscard_when_it_is_missing(self):
        from prepay.cardbridge.pcsc import PyscardMissing

        with pytest.raises(PyscardMissing) as info:
            open_reader("pcsc")
        message = str(info.value)
        assert "pip install pyscard==2.3.1" in message and "pcscd libccid" in message
