"""The server side of ``resoto-rx``: ``serve``, ``events`` and ``run --url`` (added to the parser in cli.py).

    resoto-rx serve --port 8900                      # embedded default + HTTP/websocket server
    resoto-rx events --url ws://127.0.0.1:8900 --show task_started,task_end
    resoto-rx run collect_and_cleanup --url http://127.0.0.1:8900
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import Any, TextIO

import orjson
from tornado.httpclient import HTTPClientError

from resoto_rx.app import DEFAULT_STORE, ResotoRx
from resoto_rx.client import RemoteBus
from resoto_rx.codec import to_json
from resoto_rx.messages import ActionMessage, CoreEvent, Message
from resoto_rx.server import InsecureBindError, ResotoServer, ServerSettings
from resoto_rx.server.settings import DEFAULT_PORT
from resoto_rx.workflows.builtin import DEFAULT_SCHEDULE

COMMANDS = ("serve", "events")
PSK_ENV = "RESOTO_PSK"


def add_commands(commands: Any) -> None:
    """Add ``serve`` and ``events`` to the subcommands of ``resoto-rx``."""
    psk_help = f"pre-shared key (default: ${PSK_ENV}); required to listen beyond loopback"
    serve = commands.add_parser("serve", help="run the embedded default behind Resoto's HTTP and websocket API")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    serve.add_argument("--psk", default=os.environ.get(PSK_ENV), help=psk_help)
    serve.add_argument("--store", default=DEFAULT_STORE, help=f"SQLite file (default {DEFAULT_STORE}; 'none': memory)")
    serve.add_argument("--no-demo", action="store_true", help="without the simulated cloud")
    serve.add_argument("--schedule", default=DEFAULT_SCHEDULE,
                       help=f"cron of collect_and_cleanup (default '{DEFAULT_SCHEDULE}'; 'none': no schedule)")

    add_redis_options(serve)

    events = commands.add_parser("events", help="print the messages of a server as JSON lines")
    events.add_argument("--url", required=True, help="server, e.g. ws://127.0.0.1:8900")
    events.add_argument("--show", default="", help="comma-separated message types (default: all)")
    events.add_argument("--since", type=int, default=None, help="first replay the retained messages after this id")
    events.add_argument("--psk", default=os.environ.get(PSK_ENV), help=f"pre-shared key (default: ${PSK_ENV})")
    events.add_argument("--count", type=int, default=None, help="exit after this many messages")


def add_redis_options(parser: argparse.ArgumentParser) -> None:
    """``--redis URL --name N``: join the bus shared through Redis (issue 7)."""
    parser.add_argument("--redis", default=None, help="join the bus shared through this Redis (redis://host:port/db)")
    parser.add_argument("--name", default=None, help="this server's name on the shared bus (resumes after restarts)")


def add_run_options(run: argparse.ArgumentParser) -> None:
    """``run --url``: start the workflow on a server instead of the embedded default."""
    run.add_argument("--url", default=None, help="run on this server (http://host:port) instead of embedded")
    run.add_argument("--psk", default=os.environ.get(PSK_ENV), help=f"pre-shared key of --url (default: ${PSK_ENV})")


def main(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``serve``, ``events`` or ``run --url``."""
    try:
        if args.command == "serve":
            return asyncio.run(serve(args, out))
        if args.command == "events":
            return asyncio.run(events(args, out))
        return asyncio.run(run_remote(args, out))
    except InsecureBindError as err:
        print(f"resoto-rx: {err}", file=sys.stderr)
        return 2


def _until_signal() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def serve(args: argparse.Namespace, out: TextIO) -> int:
    settings = ServerSettings(host=args.host, port=args.port, psk=args.psk or None)
    settings.check_bind()  # before anything is opened
    store = None if args.store in ("", "none", ":memory:") else args.store
    schedule = None if args.schedule in ("", "none") else args.schedule
    stop = _until_signal()
    shared = {"redis": args.redis, "name": args.name}
    async with ResotoRx(store=store, demo=not args.no_demo, schedule=schedule, **shared) as core:
        server = await ResotoServer(core, settings).start()
        print(f"resoto-rx serving {server.url}", file=out)
        print(f"  events:    {server.ws_url}/events", file=out)
        print(f"  workers:   {server.ws_url}/subscriber/{{id}}/handle", file=out)
        print(f"  REST:      {server.url}/openapi  (metrics: {server.url}/metrics)", file=out)
        print(f"  auth:      {'JWT of the pre-shared key' if settings.psk else 'none (loopback only)'}", file=out)
        print(f"  store:     {store or 'memory only'}; schedule: {schedule or 'none'}", file=out)
        bus = f"shared through Redis {args.redis}" if args.redis else "in-process"
        print(f"  bus:       {bus}", file=out, flush=True)
        await stop.wait()
        await server.stop()
    print(f"stopped; {'store committed: ' + store if store else 'nothing stored'}", file=out, flush=True)
    return 0


async def events(args: argparse.Namespace, out: TextIO) -> int:
    show = [t.strip() for t in args.show.split(",") if t.strip()]
    stop = _until_signal()
    seen = 0

    def on_next(message: Message) -> None:
        nonlocal seen
        out.write(orjson.dumps(to_json(message)).decode() + "\n")
        out.flush()
        seen += 1
        if args.count is not None and seen >= args.count:
            stop.set()

    async with RemoteBus(args.url, show, args.psk or None, args.since) as bus:
        bus.listen().subscribe(on_next)
        await stop.wait()
    return 0


def _task_of(message: Message) -> str | None:
    if isinstance(message, ActionMessage):
        return message.task
    data = message.data
    if message.message_type in (CoreEvent.TASK_STARTED, CoreEvent.TASK_END):
        return data.get("task_id")
    if message.message_type in (CoreEvent.ERROR, CoreEvent.PROGRESS):
        return data.get("task")
    return None


async def run_remote(args: argparse.Namespace, out: TextIO) -> int:
    from resoto_rx.cli import ConsoleReporter  # cli imports this module: import back lazily

    report = ConsoleReporter(out)
    early: list[Message] = []
    task_id: str | None = None
    ended: asyncio.Future[Message] = asyncio.get_running_loop().create_future()

    def on_next(message: Message) -> None:
        if task_id is None:
            early.append(message)
        elif _task_of(message) == task_id:
            report(message)
            if message.message_type == CoreEvent.TASK_END and not ended.done():
                ended.set_result(message)

    async with RemoteBus(args.url, psk=args.psk or None) as bus:
        bus.listen().subscribe(on_next)
        await bus.wait_connected(30)
        try:
            started = await bus.request("POST", f"/workflows/{args.workflow}/run?reason=cli")
        except HTTPClientError as err:
            body = err.response.body.decode() if err.response is not None and err.response.body else str(err)
            print(f"resoto-rx: {body}", file=sys.stderr)
            return 2
        task_id = started.get("task_id")
        for message in early:
            on_next(message)
        if task_id is None:
            print(f"resoto-rx: {args.workflow} skipped (already running)", file=out)
            return 1
        end = await ended
    return 0 if end.data.get("success") else 1
