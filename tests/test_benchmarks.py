"""The benchmarks still run: a ``--quick --no-write`` smoke run prints every section (timings are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_benchmarks_run_every_section() -> None:
    readme = ROOT / "benchmarks" / "README.md"
    before = readme.read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-write"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    sections = ("fanout", "history", "store", "workflows", "jobs", "server", "notebook", "redis", "summary")
    for section in (f"== {name}" for name in sections):
        assert section in out, f"{section!r} missing from:\n{out}"
    for figure in ("EventBus/Subject, 10 sub", "to_frame speed-up", "kill -9: committed rows lost"):
        assert figure in out
    assert "not rewritten" in out
    assert readme.read_bytes() == before
