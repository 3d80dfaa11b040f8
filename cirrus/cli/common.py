"""Pieces shared by the commands: the ``--project`` option and JSON output.

Errors and exit statuses are in :mod:`cirrus.cli.exits`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from cirrus.cli.exits import ExitCode

if TYPE_CHECKING:
    from cirrus.project import Project

__all__ = [
    "NOT_A_PROJECT",
    "InputFile",
    "InputFileError",
    "check_input_file",
    "echo_json",
    "find_project_or_none",
    "project_option",
    "require_project",
]

NOT_A_PROJECT = "not inside a cirrus project (use --project or CIRRUS_PROJECT)"
"""What a command that needs a project says outside one."""

F = TypeVar("F", bound=Callable[..., Any])


def project_option(function: F) -> F:
    """Add ``--project DIR`` (env ``CIRRUS_PROJECT``) to a command."""
    return click.option(
        "--project",
        "project_dir",
        envvar="CIRRUS_PROJECT",
        type=click.Path(file_okay=False),
        help="Project folder (default: the nearest folder upwards with a cirrus.yml).",
    )(function)


def find_project_or_none(project_dir: str | None) -> Project | None:
    """The project named by ``--project`` or found from the working directory, if any."""
    from cirrus.project import find_project

    return find_project(explicit=project_dir)


class InputFileError(click.ClickException):
    """An input file that cannot be read: one line on stderr, exit status 2."""

    exit_code = ExitCode.INVALID  # what the command was given is wrong

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def check_input_file(source: str | Path) -> None:
    """Make sure SOURCE, when a local file, can be read; ``-`` and URLs pass as they are.

    Raises:
        InputFileError: there is no such file, it is a folder, or it cannot be read.
    """
    text = str(source)
    if text == "-" or "://" in text:
        return
    path = Path(text)
    if not path.exists():
        raise InputFileError(f"no such file: {text}")
    if path.is_dir():
        raise InputFileError(f"{text} is a folder: give a file")
    if not os.access(path, os.R_OK):
        raise InputFileError(f"{text} cannot be read: check its permissions")


class InputFile(click.Path):
    """A file the command reads (or ``-``): refused in one line when it cannot be read."""

    def __init__(self, *, path_type: type[str] | type[Path] = str) -> None:
        super().__init__(dir_okay=False, allow_dash=True, path_type=path_type)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        check_input_file(value)
        return super().convert(value, param, ctx)


def require_project(project_dir: str | None) -> Project:
    """The project named by ``--project`` or found from the working directory.

    Raises:
        ConfigError: there is none (the message says how to name or make one).
    """
    from cirrus.errors import ConfigError

    project = find_project_or_none(project_dir)
    if project is None:
        raise ConfigError(f"{NOT_A_PROJECT}: run `cirrus init` to make one")
    return project


def echo_json(value: Any) -> None:
    """Write one JSON document on stdout (the real one, when tasks' output is kept off it)."""
    from cirrus.task.machine_output import machine_stdout

    machine_stdout().write(json.dumps(value, default=str) + "\n")
