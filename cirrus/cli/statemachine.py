"""``cirrus statemachine``: run or validate an ASL definition locally.

Map ``ItemReader``/``ResultWriter`` buckets are S3 buckets unless ``--bucket NAME=ROOT``
maps them to another storage root, e.g. ``--bucket my-bucket=./data``.

Exit codes of ``run``: 0 SUCCEEDED (output JSON on stdout); 1 FAILED, TIMED_OUT or ABORTED
(``{"error": ..., "cause": ...}`` on stdout); 2 invalid definition or input (message on
stderr).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cirrus.cli.common import InputFile
from cirrus.cli.exits import ExitCode, exit_code
from cirrus.errors import ConfigError, DefinitionError

if TYPE_CHECKING:
    from cirrus.engine import TaskHandler, TaskTarget
    from cirrus.project.task_resolver import ProjectTaskResolver

PUBLISH_TASK = "publish"


@click.group()
def statemachine() -> None:
    """Run and validate Amazon States Language definitions locally."""


def _load(definition: Path, *, publish: bool = True) -> Any:
    from cirrus.engine import StateMachine
    from cirrus.project import find_project
    from cirrus.project.task_resolver import ProjectTaskResolver

    resolver: Any = ProjectTaskResolver.for_project(find_project())
    if not publish:
        resolver = _WithoutPublishing(resolver)
    return StateMachine.from_file(definition, resolver=resolver)


class _WithoutPublishing:
    """Runs every task but ``publish``, whose states pass their input on untouched.

    A definition tried by hand must not overwrite the published items (the project's catalog,
    its publish log, its topics); ``--publish`` asks for that.
    """

    def __init__(self, resolver: ProjectTaskResolver) -> None:
        self.resolver = resolver
        self.told = False

    def resolve(self, target: TaskTarget) -> TaskHandler:
        from cirrus.engine import TaskHandler
        from cirrus.project.task_targets import match_task

        handler = self.resolver.resolve(target)
        if match_task(target, self.resolver.tasks).task != PUBLISH_TASK:
            return handler

        def skip(payload: Any, timeout: float | None) -> Any:
            if not self.told:
                self.told = True
                click.echo(
                    f"not publishing: the {PUBLISH_TASK} task passes its input on unchanged "
                    "(nothing is written or announced); add --publish to publish for real",
                    err=True,
                )
            return payload

        return TaskHandler(skip, handler.resource_type, handler.resource)


@statemachine.command()
@click.argument("definition", type=InputFile(path_type=Path))
@click.option(
    "--input",
    "input_file",
    required=True,
    type=InputFile(),
    help="JSON file with the execution input, or - for stdin.",
)
@click.option(
    "--history",
    "history_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the execution history events to this file as JSON.",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Multiply Wait and Retry delays; 0 makes them instant.",
)
@click.option(
    "--bucket",
    "buckets",
    multiple=True,
    metavar="NAME=ROOT",
    help="Map a Map ItemReader/ResultWriter bucket to a storage root (local path, file://, "
    "s3://, memory://); repeatable. Unmapped buckets are s3://NAME.",
)
@click.option(
    "--publish",
    is_flag=True,
    help="Let publish states publish for real (by default they pass their input on).",
)
def run(
    definition: Path,
    input_file: str,
    history_file: Path | None,
    time_scale: float,
    buckets: tuple[str, ...],
    publish: bool,
) -> None:
    """Run DEFINITION (JSON or YAML) on the input and print its output.

    The publish task does not publish unless --publish is given: this is a trial run,
    with no state record, and must not overwrite what the pipeline published.
    """
    from cirrus.engine import parse_bucket_roots, run_execution, storage_object_io

    try:
        object_io = storage_object_io(parse_bucket_roots(buckets))
    except ConfigError as err:
        raise click.BadParameter(str(err), param_hint="--bucket") from err

    try:
        machine = _load(definition, publish=publish)
    except DefinitionError as err:
        click.echo(str(err), err=True)
        sys.exit(exit_code(err))
    try:
        text = sys.stdin.read() if input_file == "-" else Path(input_file).read_text("utf-8")
        execution_input = json.loads(text)
    except ValueError as err:
        click.echo(f"the input is not valid JSON: {err}", err=True)
        sys.exit(ExitCode.INVALID)
    result = run_execution(machine, execution_input, time_scale=time_scale, object_io=object_io)
    if history_file is not None:
        history_file.write_text(json.dumps(result.history(), indent=2) + "\n", encoding="utf-8")
    if result.succeeded:
        click.echo(json.dumps(result.output))
        sys.exit(ExitCode.OK)
    click.echo(json.dumps(result.error_document()))
    sys.exit(ExitCode.FAILED)


@statemachine.command()
@click.argument("definition", type=InputFile(path_type=Path))
def validate(definition: Path) -> None:
    """Check DEFINITION statically: transitions, paths, intrinsics, resources."""
    try:
        machine = _load(definition)
    except DefinitionError as err:
        click.echo(str(err), err=True)
        sys.exit(exit_code(err))
    count = len(machine.graph.states)
    click.echo(f"{definition}: valid ({count} top-level states)", err=True)
