"""``resoto-rx``: run workflows on the embedded default and read its history.

resoto-rx run collect_and_cleanup            # embedded: bus + SQLite + simulated cloud
resoto-rx history --store resoto_rx.sqlite   # what the store holds
resoto-rx serve --port 8900                   # the same behind Resoto's HTTP/websocket API
resoto-rx events --url ws://127.0.0.1:8900 --show task_end
resoto-rx run collect --url http://127.0.0.1:8900
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from resoto_rx import cli_server
from resoto_rx.app import DEFAULT_STORE, ResotoRx
from resoto_rx.bus import EventBus
from resoto_rx.history import History
from resoto_rx.messages import Action, ActionInfo, ActionProgress, CoreEvent, Message
from resoto_rx.store import SQLiteStore
from resoto_rx.workflows.runner import TaskStatus, UnknownWorkflowError


class ConsoleReporter:
    """Prints a workflow's life as it happens: phases, per-account progress, infos, errors, the end."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, message: Message) -> None:
        line = self.line(message)
        if line is not None:
            print(line, file=self.out, flush=True)

    @staticmethod
    def line(message: Message) -> str | None:
        data = message.data
        if isinstance(message, Action):
            return f"  > {message.step}"
        if isinstance(message, ActionProgress):
            p = message.progress
            if p.get("kind") != "progress":
                return None
            where = "/".join([*p.get("path", []), str(p.get("name"))])
            return f"      {where}: {p.get('current')}/{p.get('total')}"
        if isinstance(message, ActionInfo):
            return f"      [{message.level}] {message.subscriber_id}: {message.message}"
        if message.message_type == CoreEvent.TASK_STARTED:
            return f"started {data.get('task')} (task {data.get('task_id')}, {data.get('reason')})"
        if message.message_type == CoreEvent.ERROR:
            return f"      ! {data.get('message')}"
        if message.message_type == CoreEvent.TASK_END:
            outcome = "succeeded" if data.get("success") else f"failed: {data.get('error')}"
            return f"ended {data.get('descriptor_id')}: {outcome}"
        return None


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    store = None if args.store in ("", "none", ":memory:") else args.store
    shared = {"redis": args.redis, "name": args.name}
    async with ResotoRx(store=store, demo=not args.no_demo, schedule=None, seed=args.seed, **shared) as core:
        if core.demo is not None and args.enable_cleanup:
            core.demo.enable_cleanup()
        subscription = core.bus.listen().subscribe(ConsoleReporter(out))
        try:
            run = await core.run(args.workflow)
        finally:
            subscription.dispose()
        print("\nphase durations (s):", file=out)
        for step in run.steps:
            seconds = step.duration.total_seconds() if step.duration is not None else float("nan")
            print(f"  {step.name:<24} {seconds:8.3f}  answered by {', '.join(step.answered) or '-'}", file=out)
        if core.demo is not None:
            summary: dict[str, Any] = core.demo.summary()
            print("\nsummary:", file=out)
            print(f"  resources collected:    {summary['collected']}  {summary['by_kind']}", file=out)
            print(f"  planned for cleanup:    {summary['planned_for_cleanup']}", file=out)
            enabled = "" if summary["cleanup_enabled"] else "  (cleanup disabled: plan only; --enable-cleanup)"
            print(f"  deleted:                {summary['deleted']}{enabled}", file=out)
            if "metrics" in summary:
                metrics = summary["metrics"]
                print(
                    f"  metrics:                {metrics['total_resources']} resources, "
                    f"{metrics['total_cores']:g} cores, candidates {metrics['candidates_by_reason']}",
                    file=out,
                )
        print(f"\nmessages published: {core.bus.last_id}; store: {store or 'memory only'}", file=out)
        return 0 if run.status is TaskStatus.done else 1


def _history(args: argparse.Namespace, out: TextIO) -> int:
    import pandas as pd

    # Not exclusive: a server may be writing this store right now.
    with EventBus(History(args.limit, SQLiteStore(args.store, exclusive=False))) as bus:
        frame = bus.history.to_frame()
    if args.type:
        frame = frame[frame["message_type"].isin(args.type)]
    with pd.option_context("display.width", 160, "display.max_colwidth", 60, "display.max_rows", args.limit):
        print(frame.drop(columns=["data"]).to_string(index=False), file=out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resoto-rx", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a workflow on the embedded default and show its progress")
    run.add_argument("workflow", help="collect_and_cleanup, collect, cleanup or metrics")
    run.add_argument("--store", default=DEFAULT_STORE, help=f"SQLite file (default {DEFAULT_STORE}; 'none': memory)")
    run.add_argument("--no-demo", action="store_true", help="without the simulated cloud")
    run.add_argument("--seed", type=int, default=42, help="seed of the simulated cloud")
    run.add_argument("--enable-cleanup", action="store_true", help="let cleanup delete what the plan marked")
    cli_server.add_run_options(run)
    cli_server.add_redis_options(run)

    history = commands.add_parser("history", help="print the messages kept in a store")
    history.add_argument("--store", default=DEFAULT_STORE)
    history.add_argument("--limit", type=int, default=50, help="the newest N messages")
    history.add_argument("--type", action="append", help="only this message_type (repeatable)")
    cli_server.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    try:
        if args.command in cli_server.COMMANDS or getattr(args, "url", None):
            return cli_server.main(args, out)
        if args.command == "run":
            return asyncio.run(_run(args, out))
        return _history(args, out)
    except UnknownWorkflowError as err:
        print(f"resoto-rx: {err}", file=sys.stderr)
        return 2
    except ConnectionError as err:  # e.g. BackendUnavailableError: --redis names a Redis that does not answer
        print(f"resoto-rx: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
