"""``cirrus logs``: what a payload's tasks wrote, and ``--log-level`` for the commands that run
tasks."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from cirrus.cli.common import project_option
from cirrus.cli.exits import reporting_errors

__all__ = ["log_level_option", "logs"]

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--log-level``: the lowest level of task log lines kept (CIRRUS_LOG_LEVEL)."""
    return click.option(
        "--log-level",
        type=click.Choice(_LEVELS, case_sensitive=False),
        envvar="CIRRUS_LOG_LEVEL",
        help="Lowest level of the task log lines kept per execution (default INFO).",
    )(function)


@click.command()
@click.argument("payload_id")
@click.option("--execution", help="Show this execution (default: the last one).")
@click.option(
    "--follow", "-f", is_flag=True, help="Wait while the payload runs; print as it comes."
)
@project_option
def logs(payload_id: str, execution: str | None, follow: bool, project_dir: str | None) -> None:
    """Print what the tasks of PAYLOAD_ID's execution wrote (logging, print, warnings,
    a batch task's output, the traceback of a failure).

    Each line: time (UTC), level, task, payload id, text.
    """
    import time

    from cirrus.cli.manage import _record
    from cirrus.cli.pipeline import open_pipeline
    from cirrus.runtime.logs import execution_log, follow_log, pick_execution

    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        root = pipeline.settings.payload_root
        if follow:
            for text in follow_log(pipeline.db, root, payload_id, execution, wait=time.sleep):
                sys.stdout.write(text)
                sys.stdout.flush()
            return
        record = _record(pipeline, payload_id)
        name = pick_execution(record, execution)
        kept = execution_log(root, payload_id, name)
        if kept is None:
            click.echo(
                f"execution {name} of {payload_id} kept no log: its tasks wrote nothing", err=True
            )
            return
        sys.stdout.write(kept)
