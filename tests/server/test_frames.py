"""Frames are built once per message and shared; the outbound buffer bounds what a client leaves unread."""

from __future__ import annotations

import asyncio
import struct

import orjson

from resoto_rx.app import ResotoRx
from resoto_rx.messages import Action
from resoto_rx.server import ResotoServer
from resoto_rx.server.frames import FrameCache, message_line, websocket_frame
from resoto_rx.server.outbound import ClientChannel
from tests.server.conftest import listen, read_json


def test_websocket_frame_lengths() -> None:
    for size, header in ((125, 2), (126, 4), (65535, 4), (65536, 10)):
        frame = websocket_frame(b"x" * size)
        assert frame[0] == 0x81 and len(frame) == size + header
    assert struct.unpack("!H", websocket_frame(b"x" * 300)[2:4])[0] == 300


def test_unpublished_messages_are_encoded_whole_and_not_cached() -> None:
    action = Action("collect", {"timing": {}}, task="t", step="collect")
    line = message_line(action)
    assert line.endswith(b"\n") and orjson.loads(line)["data"] == {"timing": {}, "task": "t", "step": "collect"}
    cache = FrameCache()
    cache.frame(action)
    cache.frame(action)
    assert cache.encoded == 2


async def test_each_message_is_framed_once_for_all_clients(server: ResotoServer, core: ResotoRx) -> None:
    clients = [await listen(core.bus, server.ws_url + "/events?show=shared") for _ in range(5)]
    before = server.ctx.frames.encoded
    for i in range(20):
        core.bus.emit("shared", {"i": i})
    for ws in clients:
        assert [(await read_json(ws))["data"]["i"] for _ in range(20)] == list(range(20))
        ws.close()
    assert server.ctx.frames.encoded - before == 20


class StalledStream:
    """A stream whose writes never complete (the kernel buffer of a client that stopped reading is full)."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.futures: list[asyncio.Future[None]] = []

    def write(self, data: bytes) -> asyncio.Future[None]:
        self.written.append(data)
        self.futures.append(asyncio.get_running_loop().create_future())
        return self.futures[-1]

    def closed(self) -> bool:
        return False


async def test_channel_overflows_once_and_drains() -> None:
    stream, reasons = StalledStream(), []
    channel = ClientChannel(stream, max_frames=10, max_bytes=1000, on_overflow=reasons.append)
    for _ in range(10):
        assert channel.send(b"x" * 10)
    await asyncio.sleep(0)  # the loop turn ends: one write of all ten
    assert len(stream.written) == 1 and channel.buffered_frames == 10
    assert not channel.send(b"y") and not channel.send(b"z")
    assert len(reasons) == 1 and "client too slow" in reasons[0] and channel.stats.overflows == 1

    fresh = ClientChannel(StalledStream(), max_frames=10, max_bytes=1000, on_overflow=reasons.append)
    for _ in range(8):
        fresh.send(b"x")
    await asyncio.sleep(0)
    drained = asyncio.ensure_future(fresh.drain())
    await asyncio.sleep(0)
    assert not drained.done()
    fresh._stream.futures[0].set_result(None)  # type: ignore[attr-defined]  # the kernel took it
    await asyncio.wait_for(drained, 5)
    assert fresh.buffered_frames == 0
