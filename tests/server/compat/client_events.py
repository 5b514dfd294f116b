"""Drives resotoclient 1.6.2's events() (run in the compat virtualenv): sends one event, prints until task_end.

argv: http_url psk ("" for none) event_to_send. resotoclient.start() would fetch /ca/cert (TLS setup,
not served by resoto_rx), so the client is used without start(), which events() does not need.
"""

import asyncio
import json
import sys

from resotoclient.async_client import ResotoClient

url, psk, start_event = sys.argv[1], sys.argv[2] or None, sys.argv[3]


async def main():
    client = ResotoClient(url, psk=psk, verify=False)
    send = asyncio.Queue()
    await send.put({"kind": "event", "message_type": start_event, "data": {}})
    try:
        async for event in client.events({"task_end"}, send):
            print(json.dumps(event), flush=True)
            if event.get("message_type") == "task_end":
                break
    finally:
        await client.shutdown()


asyncio.run(main())
