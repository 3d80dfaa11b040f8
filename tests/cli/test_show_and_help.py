"""``show`` lists as JSON, READMEs as Markdown off a terminal, and help through ``mgmt``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

Cirrus = Callable[..., CompletedProcess[str]]


@pytest.fixture
def project(tmp_path: Path, cirrus_cmd: Cirrus) -> Path:
    assert cirrus_cmd("init", "p", cwd=tmp_path).returncode == 0
    root = tmp_path / "p"
    made = cirrus_cmd("create", "task", "add-note", "Adds a note", "--type", "batch", cwd=root)
    assert made.returncode == 0, made.stderr
    return root


@pytest.mark.parametrize("kind", ["tasks", "workflows", "feeders", "functions"])
def test_show_lists_as_json(project: Path, cirrus_cmd: Cirrus, kind: str) -> None:
    result = cirrus_cmd("show", kind, "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    if kind == "tasks":
        assert listed["add-note"] == {
            "name": "add-note",
            "kind": "task",
            "builtin": False,
            "overrides_builtin": False,
            "enabled": True,
            "description": "Adds a note",
            "path": str(project / "tasks/add-note"),
            "types": ["batch"],
        }
        assert listed["publish"]["builtin"] is True
    if kind == "workflows":
        assert set(listed) == {"publish-only", "test-add-note"}
    if kind in ("feeders", "functions"):
        assert all(entry["builtin"] for entry in listed.values())


def test_a_readme_off_a_terminal_is_its_markdown(project: Path, cirrus_cmd: Cirrus) -> None:
    result = cirrus_cmd("show", "task", "add-note", "readme", cwd=project)
    assert result.returncode == 0, result.stderr
    readme = (project / "tasks/add-note/README.md").read_text()
    assert result.stdout == readme if readme.endswith("\n") else readme + "\n"
    assert max(len(line) for line in result.stdout.splitlines()) < 100  # no padding


def test_help_after_a_mgmt_command_is_that_commands_help(project: Path, cirrus_cmd: Cirrus) -> None:
    result = cirrus_cmd("mgmt", "local", "query", "--help", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: cirrus mgmt local query [OPTIONS]")
    assert "--error-prefix" in result.stdout
    own = cirrus_cmd("mgmt", "--help", cwd=project)
    assert own.returncode == 0
    assert "Upstream-style management" in own.stdout
