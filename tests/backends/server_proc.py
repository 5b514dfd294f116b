"""A server on the shared bus, as a separate process for the kill -9 test.

    python -m tests.backends.server_proc URL PREFIX NAME STORE

Prints ``ready <stream id it resumes after>``, then ``seen <id> <message_type>`` for every message
it accepts (flushed at once, so a kill -9 loses no printed line), until it is killed.
"""

from __future__ import annotations

import asyncio
import sys

from resoto_rx import EventBus, Message
from resoto_rx.backends import RedisBackend, RedisStreamsTransport


def _print(message: Message) -> None:
    print(f"seen {message.id} {message.message_type}", flush=True)


async def main(url: str, prefix: str, name: str, store: str) -> None:
    backend = RedisBackend(url, prefix=prefix, name=name)
    bus = EventBus(backend.history(1000, store), transport=backend.transport)
    bus.listen().subscribe(_print)
    assert isinstance(bus.transport, RedisStreamsTransport)
    print(f"ready {bus.transport.cursor}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
