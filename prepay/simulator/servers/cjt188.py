"""CJ/T 188 front end: a bus of virtual water meters (with valves) behind one TCP port."""

from __future__ import annotations

import asyncio

from prepay.domain.protocols import cjt188
from prepay.domain.protocols.errors import ProtocolError
from prepay.simulator.meter import MeterRefused, VirtualMeter

UNIT_M3 = 0x2C


class Cjt188Bus:
    def __init__(self, meters: list[VirtualMeter] | None = None) -> None:
        self.meters: dict[str, VirtualMeter] = {}
        for m in meters or []:
            self.add(m)

    def add(self, meter: VirtualMeter) -> None:
        self.meters[cjt188.normalize_address(meter.address)] = meter

    def handle(self, frame: cjt188.Frame) -> cjt188.Frame | None:
        if frame.is_reply:
            return None
        m = self.meters.get(frame.address)
        if m is None or m.silent:
            return None
        m.requests += 1
        try:
            if frame.function == cjt188.Function.READ_DATA:
                volume = m.register()
                valve = cjt188.ValveState.CLOSED if m.relay_open else cjt188.ValveState.OPEN
                ser = frame.data[2] if len(frame.data) >= 3 else 0
                reading = cjt188.WaterReading(
                    frame.meter_type,
                    frame.address,
                    ser,
                    cjt188.Flow(volume, UNIT_M3),
                    cjt188.Flow(volume, UNIT_M3),
                    m.meter_time().astimezone().replace(tzinfo=None, microsecond=0),
                    cjt188.decode_status(cjt188.encode_status(valve)),
                    b"",
                )
                return cjt188.build_read_reply(reading)
            if frame.function == cjt188.Function.WRITE_DATA:
                cmd = cjt188.parse_valve_command(frame)
                try:
                    m.remote("close" if cmd.open else "trip")
                except MeterRefused:
                    return cjt188.build_valve_reply(
                        frame.address, cjt188.ValveState.ABNORMAL, meter_type=frame.meter_type, ser=cmd.ser
                    )
                valve = cjt188.ValveState.CLOSED if m.relay_open else cjt188.ValveState.OPEN
                return cjt188.build_valve_reply(
                    frame.address, valve, meter_type=frame.meter_type, ser=cmd.ser
                )
        except ProtocolError:
            return None
        return None

    async def serve_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = cjt188.FrameReader()
        try:
            while chunk := await reader.read(4096):
                for frame in frames.feed(chunk):
                    reply = self.handle(frame)
                    if reply is not None:
                        if (meter := self.meters.get(frame.address)) is not None:
                            await meter.hold_back()
                        writer.write(cjt188.encode_frame(reply))
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


async def serve_tcp(bus: Cjt188Bus, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    return await asyncio.start_server(bus.serve_stream, host, port)
