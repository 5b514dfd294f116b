"""Binder installs resoto_rx with its notebook extra, and the notebook extra is what the notebooks need.

Offline and fast: the files are parsed and compared with pyproject.toml, and every requirement is
checked against the installed distributions (the same environment the notebooks run in here).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"


def _pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]  # type: ignore[no-any-return]


def _extra(name: str) -> dict[str, Requirement]:
    extras = _pyproject()["optional-dependencies"]
    assert isinstance(extras, dict)
    return {Requirement(r).name.lower(): Requirement(r) for r in extras[name]}


def _binder_requirements() -> dict[str, Requirement]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    found = [Requirement(line.split("#")[0].strip()) for line in lines if line.split("#")[0].strip()]
    return {r.name.lower(): r for r in found}


def test_binder_requirements_are_the_notebook_extra() -> None:
    assert _binder_requirements().keys() == _extra("notebook").keys()
    for name, requirement in _binder_requirements().items():
        assert requirement.specifier == _extra("notebook")[name].specifier, name


def test_post_build_installs_the_package_with_its_notebook_extra() -> None:
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "postBuild must be executable"
    text = post_build.read_text()
    assert text.startswith("#!/bin/bash")
    assert re.search(r"pip install .*-e \"?\.\[notebook\]\"?", text), text


def test_ci_installs_what_the_notebooks_need() -> None:
    """CI installs `.[test]`: it must bring the notebook extra and the tools that execute notebooks."""
    extras = _pyproject()["optional-dependencies"]
    assert isinstance(extras, dict)
    test = [Requirement(r) for r in extras["test"]]
    assert {"nbclient", "nbformat", "ipykernel"} <= {r.name for r in test}
    assert any(r.name == _pyproject()["name"] and "notebook" in r.extras for r in test)


def test_every_notebook_requirement_is_installed_here() -> None:
    for requirement in _extra("notebook").values():
        version = importlib.metadata.version(requirement.name)
        assert requirement.specifier.contains(version, prereleases=True), f"{requirement} but {version} is installed"
