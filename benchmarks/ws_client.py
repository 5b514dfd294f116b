"""The clients of the server benchmark, in their own process so they do not share the server's loop.

    python -m benchmarks.ws_client URL CONNECTIONS EVENTS MODE [STALLED]

Opens CONNECTIONS websockets (``websockets`` library) to URL and, if STALLED is 1, one more raw
connection that completes the handshake and then never reads. Prints ``READY``, then ``P <n>`` each
time every reading connection has received another 500 frames (the server paces itself on it), and
finally ``DONE <json>`` with the frames each connection received and, in ``latency`` mode, the
emit-to-receive latencies (frames carry ``"t"``: the emit time in ns since the epoch).
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.client import connect

STEP = 500


async def stalled(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
    path = parts.path + ("?" + parts.query if parts.query else "")
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    return sock  # never read again


async def main(url: str, connections: int, events: int, mode: str, stall: bool) -> None:
    counts = [0] * connections
    latencies: list[int] = []
    reported = 0
    sockets = [await connect(url, max_size=2**24, ping_interval=None) for _ in range(connections)]
    stalled_socket = await stalled(url) if stall else None
    print("READY", flush=True)

    async def read(index: int) -> None:
        nonlocal reported
        ws = sockets[index]
        while counts[index] < events:
            frame = await ws.recv()
            if mode == "latency":
                t = orjson.loads(frame)["data"]["t"]
                latencies.append(time.time_ns() - t)
            counts[index] += 1
            if counts[index] % STEP == 0 and (low := min(counts)) >= reported + STEP:
                reported = low - low % STEP
                print(f"P {reported}", flush=True)

    await asyncio.gather(*(read(i) for i in range(connections)))
    latencies.sort()
    stats: dict[str, object] = {"counts": counts}
    if latencies:
        stats["p50_ms"] = latencies[len(latencies) // 2] / 1e6
        stats["p99_ms"] = latencies[int(len(latencies) * 0.99)] / 1e6
    print("DONE " + orjson.dumps(stats).decode(), flush=True)
    for ws in sockets:
        await ws.close()
    if stalled_socket is not None:
        stalled_socket.close()


if __name__ == "__main__":
    url, n, events, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    asyncio.run(main(url, n, events, mode, len(sys.argv) > 5 and sys.argv[5] == "1"))
