"""No command prints a Python traceback for a user's mistake.

Every command and subcommand of the click tree (found by walking it, so new commands are
covered as they are added) runs in a real ``cirrus`` process with bad arguments: an unknown
option, a file that does not exist, a file that is not JSON, a name that names nothing.
Each must end with a message and a non-zero status, never a traceback. AWS calls go to a
closed port on 127.0.0.1, so a command that reaches for AWS fails at once, and locally.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from cirrus.cli.main import cli
from cirrus.cli.manage import _MGMT_COMMANDS
from cirrus.project import init_project

# Arguments that name a folder to create (any value is right), or commands too slow to run
# for every case; they still get the unknown-option case.
CREATES_WHAT_IT_IS_GIVEN = {("init",), ("demo",)}
PRINTS_ANY_FILE = {("payload", "cat")}
MISSING = "no-such-file.json"
NOT_JSON = "not-json.json"
BAD_NAME = "no such/thing"  # no component, payload id or file has this name


def _walk(
    command: click.Command, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        context = click.Context(command, info_name=path[-1] if path else "cirrus")
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            assert sub is not None, (*path, name)
            yield from _walk(sub, (*path, name))


def _mgmt_commands() -> Iterator[tuple[tuple[str, ...], click.Command]]:
    from cirrus.cli.pipeline import process, run_workflow

    for name, command in {
        **_MGMT_COMMANDS,
        "process": process,
        "run-workflow": run_workflow,
    }.items():
        yield ("mgmt", "local", name), command


def every_command() -> list[tuple[tuple[str, ...], click.Command]]:
    found = [(path, command) for path, command in _walk(cli, ()) if path]
    return [*found, *_mgmt_commands()]


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    must_fail: bool = True
    one_line: bool = False
    """The message is one line (click's usage errors add the usage around theirs)."""


def _positionals(command: click.Command) -> list[click.Argument]:
    return [param for param in command.params if isinstance(param, click.Argument)]


def _fill(command: click.Command, value: str) -> list[str]:
    """Every positional argument and required option given ``value`` (or a valid choice)."""
    args: list[str] = []
    for param in command.params:
        given = param.type.choices[0] if isinstance(param.type, click.Choice) else value
        if isinstance(param, click.Argument):
            args += [str(given)] * (param.nargs if param.nargs > 0 else 1)
        elif isinstance(param, click.Option) and param.required:
            args += [param.opts[0], str(given)]
    return args


def cases(path: tuple[str, ...], command: click.Command) -> Iterator[tuple[str, Case]]:
    yield "unknown-option", Case((*path, *_fill(command, BAD_NAME), "--no-such-option"))
    if isinstance(command, click.Group) or path[-1] == "mgmt":
        yield "no-subcommand-name", Case((*path, BAD_NAME, BAD_NAME))
        return
    takes_input = bool(_positionals(command)) or any(
        isinstance(param, click.Option) and param.required for param in command.params
    )
    if not takes_input:
        return
    must_fail = path not in CREATES_WHAT_IT_IS_GIVEN
    if not must_fail:
        return
    yield "missing-file", Case((*path, *_fill(command, MISSING)), one_line=True)
    if path not in PRINTS_ANY_FILE:
        yield "not-json", Case((*path, *_fill(command, NOT_JSON)))
    yield "bad-name", Case((*path, *_fill(command, BAD_NAME)))


def all_cases() -> list[object]:
    params = []
    for path, command in every_command():
        for name, case in cases(path, command):
            params.append(pytest.param(case, id=f"{' '.join(path)}:{name}"))
    return params


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project holding a file that is not JSON (and no file named MISSING)."""
    root = init_project(tmp_path_factory.mktemp("tree") / "project")
    (root / NOT_JSON).write_text('{"type": "FeatureCollection", oops\n')
    return root


def run(args: tuple[str, ...], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CIRRUS_")}
    env.update(
        AWS_ENDPOINT_URL="http://127.0.0.1:9",  # closed: nothing leaves the machine
        AWS_MAX_ATTEMPTS="1",
        AWS_RETRY_MODE="standard",
        COLUMNS="120",
    )
    return subprocess.run(
        [sys.executable, "-m", "cirrus", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("case", all_cases())
def test_bad_arguments_give_a_message_not_a_traceback(case: Case, workspace: Path) -> None:
    result = run(case.args, workspace)
    shown = f"cirrus {' '.join(case.args)}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr, shown
    if case.must_fail:
        assert result.returncode != 0, shown
    assert result.stderr.strip(), shown  # a message says what was wrong
    if case.one_line:
        assert len(result.stderr.strip().splitlines()) == 1, shown


def test_every_command_is_walked() -> None:
    paths = {" ".join(path) for path, _ in every_command()}
    for expected in (
        "process",
        "run task",
        "statemachine run",
        "payload get-id",
        "show task",
        "create workflow",
        "mgmt local query",
        "mgmt",
    ):
        assert expected in paths
