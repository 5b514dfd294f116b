"""A client that stops reading is cut off alone, once, with a reason; everyone else gets everything."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct

import pytest

from resoto_rx.app import ResotoRx
from resoto_rx.messages import CoreEvent
from tests.server.conftest import WAIT, Serve, expect, listen, read_json

HANDSHAKE = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


async def stalled_client(port: int, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A websocket client that completes the handshake and then reads nothing (tiny receive buffers)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
    writer.write(HANDSHAKE.format(path=path, port=port).encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def read_close_frame(reader: asyncio.StreamReader) -> tuple[int, str, int]:
    """Read frames until the close frame: (code, reason, text frames before it)."""
    texts = 0
    while True:
        first, second = await asyncio.wait_for(reader.readexactly(2), WAIT)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await reader.readexactly(8))
        payload = await reader.readexactly(size)
        if first & 0x0F == 0x8:
            return struct.unpack("!H", payload[:2])[0], payload[2:].decode(), texts
        texts += 1


@pytest.mark.slow
async def test_stalled_client_is_closed_alone_and_others_receive_everything(
    serve: Serve, core: ResotoRx, caplog: pytest.LogCaptureFixture
) -> None:
    server = await serve(max_buffered_frames=500, max_buffered_bytes=256 * 1024)
    fast = [await listen(core.bus, server.ws_url + "/events?show=load") for _ in range(3)]
    connected = expect(core.bus, CoreEvent.CONNECTED)
    reader, writer = await stalled_client(server.port, "/events?show=load")
    stalled_id = (await asyncio.wait_for(connected, WAIT)).data["subscriber_id"]
    disconnected = expect(core.bus, CoreEvent.DISCONNECTED, where=lambda m: m.data["subscriber_id"] == stalled_id)
    caplog.set_level(logging.INFO)

    count, payload = 6000, "x" * 1000  # 6 MB: more than the kernel buffers hold for the stalled client
    received = [0] * len(fast)
    progress = asyncio.Condition()

    async def drain(index: int) -> None:
        while received[index] < count:
            frame = await read_json(fast[index])
            assert frame["data"]["i"] == received[index]  # in order, none missing
            received[index] += 1
            async with progress:
                progress.notify_all()

    readers = [asyncio.ensure_future(drain(i)) for i in range(len(fast))]
    for i in range(count):
        core.bus.emit("load", {"i": i, "pad": payload})
        if i % 50 == 49:  # the fast clients read in this same loop: let them keep within 100 messages
            async with progress:
                await asyncio.wait_for(progress.wait_for(lambda floor=i - 100: min(received) > floor), WAIT)
    await asyncio.wait_for(asyncio.gather(*readers), WAIT)
    assert received == [count] * len(fast)
    await asyncio.wait_for(disconnected, WAIT)

    code, reason, texts = await read_close_frame(reader)
    assert code == 1008 and "too slow" in reason and texts < count
    writer.close()
    await writer.wait_closed()
    assert server.ctx.channel_stats.overflows == 1
    warnings = [r for r in caplog.records if "disconnecting listener" in r.getMessage()]
    assert len(warnings) == 1 and stalled_id in warnings[0].getMessage()
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
    for ws in fast:
        ws.close()
