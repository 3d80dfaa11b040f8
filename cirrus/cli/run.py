"""``cirrus run task``: run one task on one payload."""

from __future__ import annotations

import sys
from typing import Any

import click

from cirrus.cli.common import check_input_file, project_option
from cirrus.cli.exits import reporting_errors
from cirrus.cli.logs import log_level_option

__all__ = ["run"]


@click.group()
def run() -> None:
    """Run a single component."""


@run.command("task")
@click.argument("task")
@click.argument("payload", default="-")
@click.option("--output", "-o", help="Write the output payload here (path or URL).")
@click.option("--workdir", type=click.Path(file_okay=False), help="Work directory (kept).")
@click.option("--save-workdir", is_flag=True, help="Keep the temporary work directory.")
@click.option("--upload/--no-upload", default=True, help="Upload assets (stactask's flag).")
@click.option(
    "--validate/--no-validate", default=True, help="Call the task's validate() (stactask's flag)."
)
@click.option("--skip-upload", is_flag=True, help="Deprecated spelling of --no-upload.")
@click.option("--skip-validation", is_flag=True, help="Deprecated spelling of --no-validate.")
@click.option("--data-root", help="Root for relative path_template locations.")
@log_level_option
@project_option
def run_task(
    task: str,
    payload: str,
    output: str | None,
    workdir: str | None,
    save_workdir: bool,
    upload: bool,
    validate: bool,
    skip_upload: bool,
    skip_validation: bool,
    data_root: str | None,
    log_level: str | None,
    project_dir: str | None,
) -> None:
    """Run TASK on PAYLOAD (a file, URL or - for stdin) and print the output payload.

    TASK is a built-in task (copy-assets, publish, pre-batch, post-batch), a project task, or
    path/to/file.py:ClassName. Exit status: 0 success, 1 task failure, 2 invalid input.
    """
    from cirrus.cli.common import find_project_or_none
    from cirrus.task.cli import run_and_report
    from cirrus.task.registry import resolve_task

    with reporting_errors():
        check_input_file(payload)
        project = find_project_or_none(project_dir)
        task_class = project.task_class(task) if project is not None else resolve_task(task)
        if data_root is None and project is not None:
            data_root = project.config.data_root
        payload_root = project.config.payload_root if project is not None else None
    options: dict[str, Any] = {"data_root": data_root}
    if payload_root:  # for tasks that pass payloads by reference, such as pre-batch
        options["payload_root"] = payload_root
    if workdir:
        options["workdir"] = workdir
    if save_workdir:
        options["save_workdir"] = True
    if skip_upload or not upload:
        options["upload"] = False
    if skip_validation or not validate:
        options["validate"] = False
    from cirrus.task.base import Task

    if not issubclass(task_class, Task):
        options.pop("data_root")
        options.pop("payload_root", None)
    sys.exit(run_and_report(task_class, payload, output, log_level=log_level, **options))
