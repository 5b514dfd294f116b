"""History: append cost, DataFrame build time and memory for 1,000,000 retained messages.

- ``append``: ``History.append`` on pre-stamped realistic messages (80% events with small data, 10%
  actions, 10% action_done with task/step/subscriber ids), amortised µs per message over 1e6 appends
  into a history of capacity 1e6. For context, ``EventBus.emit`` with no subscriber (build, encode,
  stamp, record) is reported too.
- ``to_frame``: ``History.to_frame()`` vs ``pd.DataFrame(list_of_dicts)`` of the same messages, the
  dicts holding id, at, kind, message_type, task, step, subscriber_id and data (built beforehand, not
  timed) -- the naive way to get a frame from a list of messages.
- ``memory``: bytes allocated by a History holding 1e6 messages (tracemalloc, in a fresh subprocess,
  messages generated one by one so only what the history keeps stays allocated).
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time
import tracemalloc
from typing import Any

import pandas as pd

from benchmarks.common import Result, best_of, stamped, timed
from resoto_rx import EventBus, History
from resoto_rx.codec import wire_data

SECTION = "history"
CHUNK = 100_000


def measure_append(count: int, repeats: int) -> tuple[History, list[dict[str, Any]], float]:
    """Fill a History with ``count`` messages; returns it, the same messages as row dicts, and the best µs/append.

    Messages are built in chunks (their construction is not timed) so that 1e6 message objects never
    exist at once; each chunk is appended into ``repeats - 1`` fresh histories and once into the
    history that is returned, and the best of these times counts.
    """
    history = History(capacity=count)
    rows: list[dict[str, Any]] = []
    total = 0.0
    for first in range(1, count + 1, CHUNK):
        chunk = list(stamped(first, min(CHUNK, count + 1 - first)))
        for message, _, _ in chunk:
            rows.append(
                {
                    "id": message.id,
                    "at": message.at,
                    "kind": message.kind,
                    "message_type": message.message_type,
                    "task": getattr(message, "task", None),
                    "step": getattr(message, "step", None),
                    "subscriber_id": getattr(message, "subscriber_id", None),
                    "data": wire_data(message),
                }
            )

        def append_chunk(target: History, chunk: list[Any] = chunk) -> float:
            append = target.append
            start = time.perf_counter()
            for message, data_json, at in chunk:
                append(message, data_json, at)
            return time.perf_counter() - start

        best = float("inf")
        for _ in range(repeats - 1):
            best = min(best, append_chunk(History(capacity=count)))
        total += min(best, append_chunk(history))
    return history, rows, total / count * 1e6


def measure_frames(history: History, rows: list[dict[str, Any]], repeats: int) -> tuple[float, float, float]:
    """Best seconds of ``history.to_frame()``, ``to_frame(decode=False)`` and ``pd.DataFrame(rows)``, interleaved."""
    frame, naive = history.to_frame(), pd.DataFrame(rows)
    if len(frame) != len(naive) or frame["id"].tolist()[-3:] != naive["id"].tolist()[-3:]:
        raise RuntimeError("to_frame and the list-of-dicts frame disagree")
    del frame, naive
    to_frame_s = json_s = dicts_s = float("inf")
    for _ in range(repeats):
        gc.collect()
        to_frame_s = min(to_frame_s, timed(history.to_frame))
        gc.collect()
        json_s = min(json_s, timed(lambda: history.to_frame(decode=False)))
        gc.collect()
        dicts_s = min(dicts_s, timed(lambda: pd.DataFrame(rows)))
    return to_frame_s, json_s, dicts_s


def measure_emit(count: int, repeats: int) -> float:
    """µs per ``EventBus.emit`` with no subscriber (default history)."""

    def once() -> float:
        loop = asyncio.new_event_loop()
        try:
            bus = EventBus(loop=loop)
            emit = bus.emit

            def go() -> None:
                for i in range(count):
                    emit("collect_progress", {"n": i, "cloud": "aws", "count": i % 97})

            elapsed = timed(go)
            bus.close()
            return elapsed
        finally:
            loop.close()

    return best_of(repeats, once) / count * 1e6


def retained_memory(count: int, trace: bool) -> dict[str, float]:
    """Run in a child process: bytes a History of ``count`` messages holds (tracemalloc), or the RSS growth."""
    gc.collect()
    rss_before = _rss()
    if trace:
        tracemalloc.start()
    history = History(capacity=count)
    for message, data_json, at in stamped(1, count):
        history.append(message, data_json, at)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] if trace else 0
    return {"messages": len(history), "bytes": held, "rss_bytes": _rss() - rss_before}


def _child_memory(count: int, mode: str) -> dict[str, float]:
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.history", mode, str(count)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def run(quick: bool = False) -> list[Result]:
    count = 50_000 if quick else 1_000_000
    repeats = 1 if quick else 3
    print(f"\n== {SECTION}: {count:,} realistic messages, best of {repeats} ==")
    results: list[Result] = []

    history, rows, append_us = measure_append(count, repeats)
    print(f"History.append                      {append_us:8.2f} µs/message (amortised)")
    results.append(Result(SECTION, "History.append (amortised)", append_us, "µs", "<= 5 µs", append_us <= 5.0))
    emit_us = measure_emit(min(count, 200_000), repeats)
    print(f"EventBus.emit, no subscriber        {emit_us:8.2f} µs/message (context)")
    results.append(Result(SECTION, "EventBus.emit, no subscriber", emit_us, "µs"))

    to_frame_s, json_s, dicts_s = measure_frames(history, rows, repeats)
    del history, rows
    gc.collect()
    speedup, json_speedup = dicts_s / to_frame_s, dicts_s / json_s
    print(f"History.to_frame() (data as dicts)  {to_frame_s:8.3f} s")
    print(f"History.to_frame(decode=False)      {json_s:8.3f} s")
    print(f"pd.DataFrame(list_of_dicts)         {dicts_s:8.3f} s")
    print(f"to_frame speed-up                   {speedup:8.2f}x (decode=False: {json_speedup:.2f}x)")
    results.append(Result(SECTION, f"to_frame, {count:,} rows", to_frame_s, "s"))
    results.append(Result(SECTION, f"to_frame(decode=False), {count:,} rows", json_s, "s"))
    results.append(Result(SECTION, f"DataFrame(list_of_dicts), {count:,} rows", dicts_s, "s"))
    results.append(Result(SECTION, "to_frame speed-up vs list of dicts", speedup, "x", ">= 2x", speedup >= 2.0))
    results.append(Result(SECTION, "to_frame(decode=False) speed-up", json_speedup, "x", ">= 2x", json_speedup >= 2.0))

    mb = _child_memory(count, "--tracemalloc")["bytes"] / 1e6
    rss_mb = _child_memory(count, "--rss")["rss_bytes"] / 1e6
    scaled = mb * 1_000_000 / count
    print(f"retained history (tracemalloc)      {mb:8.1f} MB for {count:,} messages")
    print(f"RSS growth, without tracemalloc     {rss_mb:8.1f} MB")
    results.append(Result(SECTION, f"memory, {count:,} retained", mb, "MB"))
    results.append(Result(SECTION, f"RSS growth, {count:,} retained", rss_mb, "MB"))
    results.append(Result(SECTION, "memory per 1e6 retained (scaled)", scaled, "MB", "<= 250 MB", scaled <= 250.0))
    return results


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("--tracemalloc", "--rss"):
        print(json.dumps(retained_memory(int(sys.argv[2]), trace=sys.argv[1] == "--tracemalloc")))
    else:
        run(quick=True)
