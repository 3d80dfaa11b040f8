"""``cirrus statemachine``: run, validate or test an ASL definition locally; answer task tokens.

``test-state`` runs one state as AWS's TestState does; ``send-task-success``,
``send-task-failure`` and ``send-task-heartbeat`` answer a ``.waitForTaskToken`` state
waiting in any process of the project (through its SQLite state database).

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

from cirrus.cli.common import InputFile, project_option
from cirrus.cli.exits import ExitCode, exit_code
from cirrus.errors import ConfigError, DefinitionError

if TYPE_CHECKING:
    from cirrus.engine import TaskHandler, TaskTarget
    from cirrus.project.task_resolver import ProjectTaskResolver

PUBLISH_TASK = "publish"


@click.group()
def statemachine() -> None:
    """Run, validate and test Amazon States Language definitions locally; answer task tokens."""


def _resolver(*, publish: bool = True) -> Any:
    from cirrus.project import find_project
    from cirrus.project.task_resolver import ProjectTaskResolver

    resolver: Any = ProjectTaskResolver.for_project(find_project())
    if not publish:
        resolver = _WithoutPublishing(resolver)
    return resolver


def _load(definition: Path, *, publish: bool = True) -> Any:
    from cirrus.engine import StateMachine

    return StateMachine.from_file(definition, resolver=_resolver(publish=publish))


def _state_db(project_dir: str | None = None) -> str:
    """The state database URL of the project (or the working directory's defaults)."""
    from cirrus.project import Project, find_project

    project = find_project(explicit=project_dir) or Project.embedded(Path.cwd())
    return project.config.state_db


def _tokens(project_dir: str | None = None) -> Any:
    """Where task tokens wait: the SQLite state database's file, shared by processes."""
    from cirrus.state.task_tokens import open_task_tokens

    return open_task_tokens(_state_db(project_dir))


def _load_for_state(definition: Path, state: str | None, *, publish: bool) -> tuple[Any, str]:
    """The machine holding the state to test, and its name: a whole definition with
    ``--state``, or a lone state (a mapping with ``Type``) wrapped into a machine."""
    from cirrus.engine import StateMachine, load_document, single_state_machine

    try:
        text = definition.read_text(encoding="utf-8")
    except OSError as err:
        raise DefinitionError(f"cannot read definition {definition}: {err.strerror}") from err
    document = load_document(text)
    if isinstance(document, dict) and "Type" in document and "States" not in document:
        state = state or "State"
        document = single_state_machine(document, state)
    elif state is None:
        states = document.get("States") if isinstance(document, dict) else None
        if not isinstance(states, dict) or len(states) != 1:
            raise DefinitionError(
                f"{definition} holds several states: name the one to test with --state NAME"
            )
        state = next(iter(states))
    resolver = _resolver(publish=publish)
    machine = StateMachine.from_dict(document, resolver=resolver, name=definition.stem)
    assert state is not None
    return machine, state


def _read_json(source: str, what: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
        return json.loads(text)
    except ValueError as err:
        click.echo(f"the {what} is not valid JSON: {err}", err=True)
        sys.exit(ExitCode.INVALID)


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
    from cirrus.task.machine_output import guard_stdout, machine_stdout

    guard_stdout()  # what tasks print goes to stderr, never into the output
    result = run_execution(
        machine,
        execution_input,
        time_scale=time_scale,
        object_io=object_io,
        # only a machine that waits for task tokens needs the store another process answers
        tokens=_tokens() if machine.uses_task_tokens() else None,
    )
    if history_file is not None:
        history_file.write_text(json.dumps(result.history(), indent=2) + "\n", encoding="utf-8")
    if result.succeeded:
        click.echo(json.dumps(result.output), file=machine_stdout())
        sys.exit(ExitCode.OK)
    click.echo(json.dumps(result.error_document()), file=machine_stdout())
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


@statemachine.command("test-state")
@click.argument("definition", type=InputFile(path_type=Path))
@click.option("--state", "state_name", help="The state to test (a top-level state name).")
@click.option(
    "--input",
    "input_file",
    required=True,
    type=InputFile(),
    help="JSON file with the state's input, or - for stdin.",
)
@click.option(
    "--variables",
    "variables_file",
    type=InputFile(),
    help="JSON file with an object of the variables in scope.",
)
@click.option(
    "--inspection-level",
    type=click.Choice(["INFO", "DEBUG", "TRACE"]),
    default="INFO",
    show_default=True,
    help="DEBUG and TRACE add the data after each step (inspectionData).",
)
@click.option(
    "--publish",
    is_flag=True,
    help="Let a publish state publish for real (by default it passes its input on).",
)
def test_state(
    definition: Path,
    state_name: str | None,
    input_file: str,
    variables_file: str | None,
    inspection_level: str,
    publish: bool,
) -> None:
    """Run one state of DEFINITION once, as AWS's TestState does.

    DEFINITION is a whole state machine (pick the state with --state) or a single state.
    Prints {"output", "nextState", "status", "error", "cause", "inspectionData"} as JSON;
    exits 0 when the status is SUCCEEDED or CAUGHT_ERROR, 1 when FAILED or RETRIABLE.
    """
    from cirrus.engine import inspect_state

    try:
        machine, name = _load_for_state(definition, state_name, publish=publish)
    except DefinitionError as err:
        click.echo(str(err), err=True)
        sys.exit(exit_code(err))
    state_input = _read_json(input_file, "input")
    variables = _read_json(variables_file, "variables file") if variables_file else None
    if variables is not None and not isinstance(variables, dict):
        click.echo("the variables file must hold a JSON object of names to values", err=True)
        sys.exit(ExitCode.INVALID)
    try:
        result = inspect_state(
            machine,
            name,
            state_input,
            variables=variables,
            inspection_level=inspection_level,
            tokens=_tokens() if machine.uses_task_tokens() else None,
        )
    except DefinitionError as err:
        click.echo(str(err), err=True)
        sys.exit(exit_code(err))
    click.echo(json.dumps(result.to_dict()))
    sys.exit(ExitCode.OK if result.status in ("SUCCEEDED", "CAUGHT_ERROR") else ExitCode.FAILED)


def _answer(send: Any) -> None:
    """Send an answer to a task token; a token nothing waits on exits 1."""
    from cirrus.errors import TaskTokenError

    try:
        send()
    except TaskTokenError as err:
        click.echo(f"{err.error}: {err}", err=True)
        sys.exit(ExitCode.FAILED)


def _token_store(project_dir: str | None) -> Any:
    tokens = _tokens(project_dir)
    if tokens is None:
        click.echo(
            "the state database is not a SQLite file, so no other process can answer its "
            "task tokens: set state_db in cirrus.yml (or CIRRUS_STATE_DB) to a .db file",
            err=True,
        )
        sys.exit(ExitCode.INVALID)
    return tokens


@statemachine.command("send-task-success")
@click.argument("token")
@click.option(
    "--output",
    "output_text",
    default="{}",
    show_default=True,
    help="The task's result: JSON text, @FILE for a file, or - for stdin.",
)
@project_option
def send_task_success(token: str, output_text: str, project_dir: str | None) -> None:
    """Complete the Task state waiting on TOKEN with --output as its result."""
    if output_text == "-":
        output_text = sys.stdin.read()
    elif output_text.startswith("@"):
        try:
            output_text = Path(output_text[1:]).read_text(encoding="utf-8")
        except OSError as err:
            click.echo(f"cannot read {output_text[1:]}: {err.strerror}", err=True)
            sys.exit(ExitCode.INVALID)
    try:
        output = json.loads(output_text)
    except ValueError as err:
        click.echo(f"--output is not valid JSON: {err}", err=True)
        sys.exit(ExitCode.INVALID)
    tokens = _token_store(project_dir)
    _answer(lambda: tokens.send_success(token, output))


@statemachine.command("send-task-failure")
@click.argument("token")
@click.option("--error", help="The error name (what Retry and Catch match).")
@click.option("--cause", help="A description of the failure.")
@project_option
def send_task_failure(
    token: str, error: str | None, cause: str | None, project_dir: str | None
) -> None:
    """Fail the Task state waiting on TOKEN with --error and --cause."""
    tokens = _token_store(project_dir)
    _answer(lambda: tokens.send_failure(token, error, cause))


@statemachine.command("send-task-heartbeat")
@click.argument("token")
@project_option
def send_task_heartbeat(token: str, project_dir: str | None) -> None:
    """Tell the Task state waiting on TOKEN that work goes on (resets HeartbeatSeconds)."""
    tokens = _token_store(project_dir)
    _answer(lambda: tokens.send_heartbeat(token))
