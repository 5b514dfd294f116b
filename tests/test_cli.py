"""The main job end to end: `resoto-rx run collect_and_cleanup` on the embedded default."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from resoto_rx.app import ResotoRx
from resoto_rx.cli import main
from resoto_rx.workflows import TaskStatus


def test_run_collect_and_cleanup_prints_phases_progress_and_summary(tmp_path: Path) -> None:
    out = io.StringIO()
    store = tmp_path / "rx.sqlite"
    assert main(["run", "collect_and_cleanup", "--store", str(store)], out) == 0
    text = out.getvalue()
    phases = [line.strip()[2:] for line in text.splitlines() if line.startswith("  > ")]
    assert phases[0] == "pre_collect" and phases[-1] == "post_generate_metrics" and len(phases) == 13
    assert "aws/" in text and "gcp/" in text and ": 1/1" in text  # progress per account
    assert "ended collect_and_cleanup: succeeded" in text
    assert "resources collected:" in text and "planned for cleanup:" in text and "deleted:                0" in text
    with sqlite3.connect(store) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM messages").fetchone()
    assert f"messages published: {count};" in text  # everything published was committed


def test_run_with_cleanup_enabled_deletes(tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["run", "collect_and_cleanup", "--store", "none", "--enable-cleanup"], out) == 0
    deleted = next(line for line in out.getvalue().splitlines() if "deleted:" in line)
    assert int(deleted.split()[1]) > 0


def test_unknown_workflow_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "nope", "--store", "none"]) == 2
    assert "unknown workflow 'nope'; known workflows: cleanup, collect, collect_and_cleanup, metrics" in (
        capsys.readouterr().err
    )


def test_history_reads_the_store_and_ids_continue(tmp_path: Path) -> None:
    store = str(tmp_path / "rx.sqlite")
    assert main(["run", "metrics", "--store", store, "--no-demo"], io.StringIO()) == 0
    first = io.StringIO()
    assert main(["history", "--store", store, "--type", "task_end"], first) == 0
    assert "task_end" in first.getvalue()
    assert main(["run", "metrics", "--store", store, "--no-demo"], io.StringIO()) == 0
    with sqlite3.connect(store) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM messages ORDER BY id")]
    assert ids == list(range(1, len(ids) + 1))  # the second run continued the sequence


async def test_embedded_app_runs_the_cycle_on_the_running_loop(tmp_path: Path) -> None:
    with ResotoRx(store=tmp_path / "rx.sqlite") as core:
        run = await core.run("collect_and_cleanup")
        assert run.status is TaskStatus.done
        assert core.demo is not None and core.demo.summary()["collected"] > 0
        frame = core.bus.history.to_frame()
        assert frame["message_type"].iloc[-1] == "task_end"


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "resoto-rx"
    assert script.exists(), "pip install -e . installs the resoto-rx console script next to python"
    result = subprocess.run(
        [str(script), "run", "metrics", "--store", "none"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ended metrics: succeeded" in result.stdout
