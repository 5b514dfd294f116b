"""The notebooks run headless (nbclient + ipykernel, in isolated Jupyter dirs) without any error output.

Each notebook runs in a kernel of this interpreter from a kernelspec installed into a temporary
JUPYTER_DATA_DIR; its working directory is a temporary folder, so nothing it writes lands in the repo.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from resoto_rx.workflows import builtin_workflows

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "resoto-rx-test"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


@pytest.fixture(scope="module")
def jupyter_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Private Jupyter/IPython/matplotlib dirs and a kernelspec for this interpreter in them."""
    base = tmp_path_factory.mktemp("jupyter")
    with pytest.MonkeyPatch.context() as env:
        for name, sub in (
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("JUPYTER_DATA_DIR", "data"),
            ("JUPYTER_CONFIG_DIR", "config"),
            ("IPYTHONDIR", "ipython"),
            ("MPLCONFIGDIR", "matplotlib"),
        ):
            (base / sub).mkdir()
            env.setenv(name, str(base / sub))
        env.setenv("JUPYTER_PLATFORM_DIRS", "1")  # no "migrating to platformdirs" deprecation warning
        env.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        # the kernelspec and matplotlib's font cache are made here, so the notebooks print nothing about them
        for code in (
            f"from ipykernel.kernelspec import install; install(user=True, kernel_name={KERNEL!r})",
            "import matplotlib.font_manager",
        ):
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
        yield base


def execute(path: Path, workdir: Path) -> tuple[nbformat.NotebookNode, float]:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=180,
        kernel_name=KERNEL,
        store_widget_state=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    started = time.perf_counter()
    client.execute()
    return notebook, time.perf_counter() - started


def problems(notebook: nbformat.NotebookNode) -> list[str]:
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {index}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                found.append(f"cell {index} stderr: {output.text[:500]}")
    return found


def widget_models(notebook: nbformat.NotebookNode, model_name: str) -> list[dict[str, Any]]:
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    return [m["state"] for m in state.values() if m["model_name"] == model_name]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_without_errors(path: Path, jupyter_dirs: Path, tmp_path: Path) -> None:
    notebook, seconds = execute(path, tmp_path)
    assert problems(notebook) == []
    print(f"{path.name}: {seconds:.1f} s")
    assert list(tmp_path.iterdir()) == [], "a notebook wrote into its working directory"
    if path.stem == "01-quickstart":
        # one bar per phase of collect_and_cleanup (then of the metrics run the notebook ends with)
        bars = widget_models(notebook, "IntProgressModel")
        assert {b["description"] for b in bars} >= {s.name for s in builtin_workflows()[-1].steps}
        assert {(b["value"], b["bar_style"]) for b in bars} == {(100, "success")}, "every phase reached 100%"
        html = " ".join(str(m["value"]) for m in widget_models(notebook, "HTMLModel"))
        assert "collect_and_cleanup" in html and "done" in html
    if path.stem == "04-history-analysis":
        pictures = [o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
        assert len(pictures) >= 2


def test_notebooks_are_committed_without_outputs() -> None:
    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip the outputs"
        assert "widgets" not in notebook.metadata, f"{path.name}: strip the widget state"
        assert path.stat().st_size < 30_000, f"{path.name}: keep notebooks small"
