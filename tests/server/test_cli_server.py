"""``resoto-rx serve | events | run --url`` as subprocesses: URLs printed, remote run, SIGTERM commits the store."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

CLI = [sys.executable, "-m", "resoto_rx.cli"]


@pytest.mark.slow
def test_serve_events_and_remote_run(tmp_path: Path) -> None:
    store = tmp_path / "served.sqlite"
    serve = subprocess.Popen(
        [*CLI, "serve", "--port", "0", "--store", str(store), "--schedule", "none"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert serve.stdout is not None
        first = serve.stdout.readline()
        problem = first + (serve.stderr.read() if serve.stderr and not first else "")
        assert first.startswith("resoto-rx serving http://127.0.0.1:"), problem
        url = first.split()[-1]
        run = subprocess.run([*CLI, "run", "collect", "--url", url], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert "started collect" in run.stdout and "ended collect: succeeded" in run.stdout
        assert "  > collect" in run.stdout  # the action step, printed by the ConsoleReporter
        events = subprocess.run(
            [*CLI, "events", "--url", url.replace("http", "ws"), "--show", "task_end", "--since", "0", "--count", "1"],
            capture_output=True, text=True, timeout=60,
        )
        assert events.returncode == 0, events.stderr
        end = orjson.loads(events.stdout.splitlines()[0])
        assert end["message_type"] == "task_end" and end["data"]["descriptor_id"] == "collect"
        unknown = subprocess.run([*CLI, "run", "nope", "--url", url], capture_output=True, text=True, timeout=60)
        assert unknown.returncode == 2 and "unknown workflow 'nope'" in unknown.stderr
    finally:
        serve.send_signal(signal.SIGTERM)
        out, err = serve.communicate(timeout=60)
    assert serve.returncode == 0, err
    assert f"store committed: {store}" in out
    with sqlite3.connect(store) as db:
        (ends,) = db.execute("SELECT COUNT(*) FROM messages WHERE message_type = 'task_end'").fetchone()
    assert ends == 1


def test_serve_refuses_a_public_address_without_a_key() -> None:
    done = subprocess.run([*CLI, "serve", "--host", "0.0.0.0", "--store", "none"], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert "refusing to listen on '0.0.0.0' without a pre-shared key" in done.stderr
