"""Pieces shared by the commands: the ``--project`` option and JSON output.

Errors and exit statuses are in :mod:`cirrus.cli.exits`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from cirrus.project import Project

__all__ = ["echo_json", "find_project_or_none", "project_option"]

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


def echo_json(value: Any) -> None:
    """Write one JSON document on stdout (the real one, when tasks' output is kept off it)."""
    from cirrus.task.machine_output import machine_stdout

    machine_stdout().write(json.dumps(value, default=str) + "\n")
