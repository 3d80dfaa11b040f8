"""Fixtures for project tests: a fresh project folder and a CLI runner inside it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cirrus.project import Project, init_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A new project in ``tmp_path/demo``; the working directory is that folder."""
    root = init_project(tmp_path / "demo")
    monkeypatch.chdir(root)
    return Project(root)


@pytest.fixture
def cirrus(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run ``cirrus ARGS...`` in-process and return the result (stdout and stderr apart)."""
    from cirrus.cli.main import cli

    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return run


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
