"""Inspect and rerun: state records, payloads and executions.

``cirrus get-input-payloads --state FAILED --rerun | cirrus process - --wait`` reruns
exactly the failed payloads.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import click

from cirrus.cli.common import echo_json, project_option
from cirrus.cli.exits import ExitCode, reporting_errors
from cirrus.cli.pipeline import open_pipeline
from cirrus.state import State

if TYPE_CHECKING:
    from cirrus.runtime import Pipeline
    from cirrus.state import StateRecord

__all__ = [
    "abort",
    "get_execution",
    "get_execution_events",
    "get_input_payload",
    "get_input_payloads",
    "get_output_payload",
    "get_state",
    "mgmt",
    "query",
]


def _record(pipeline: Pipeline, payload_id: str) -> StateRecord:
    from cirrus.errors import NotFound

    record = pipeline.db.get(payload_id)
    if record is None:
        raise NotFound(
            f"no state record for payload {payload_id!r}; check the id with cirrus query"
        )
    return record


def _execution_url(pipeline: Pipeline, record: StateRecord, name: str) -> str:
    from cirrus.errors import NotFound
    from cirrus.runtime.jobs import execution_key
    from cirrus.storage import join_url

    if not record.executions:
        raise NotFound(f"payload {record.payload_id!r} has no execution yet")
    key = execution_key(record.payload_id, record.executions[-1], name)
    return join_url(pipeline.settings.payload_root, key)


def query_filters(function: Callable[..., Any]) -> Callable[..., Any]:
    """The filters shared by ``query`` and ``get-input-payloads``."""
    options = [
        click.option(
            "--collections-workflow", help="<collections>_<workflow>, as in state records."
        ),
        click.option("--workflow", help="Workflow name, any collections."),
        click.option(
            "--state", type=click.Choice([state.value for state in State], case_sensitive=False)
        ),
        click.option("--since", help="Updated within this age: 7d, 24h, 30m, 45s."),
        click.option("--error-prefix", help="last_error starts with this text."),
        click.option("--limit", type=click.IntRange(min=1), help="At most this many records."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _records(pipeline: Pipeline, limit: int | None, **filters: Any) -> Iterator[StateRecord]:
    """Every matching record, newest first, page by page."""
    token: str | None = None
    remaining = limit
    while True:
        page_size = min(remaining, 1000) if remaining is not None else 1000
        page = pipeline.db.query(limit=page_size, next_token=token, **filters)
        yield from page.records
        if remaining is not None:
            remaining -= len(page.records)
            if remaining <= 0:
                return
        token = page.next_token
        if token is None:
            return


@click.command("get-state")
@click.argument("payload_id")
@project_option
def get_state(payload_id: str, project_dir: str | None) -> None:
    """Print the state record of PAYLOAD_ID."""
    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        echo_json(_record(pipeline, payload_id).to_dict())


@click.command("get-state")
@click.argument("payload_id")
@project_option
def get_state_upstream(payload_id: str, project_dir: str | None) -> None:
    """Print the state record of PAYLOAD_ID in upstream Cirrus's shape (items, state_updated,
    input_payload_url, output_payload_url ...)."""
    from cirrus.runtime.records import upstream_state_item

    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        record = _record(pipeline, payload_id)
        echo_json(upstream_state_item(record, pipeline.settings.payload_root))


@click.command()
@query_filters
@click.option(
    "--dead-letters",
    is_flag=True,
    help="Print the work queue's dead letters instead (oldest first, with the reason).",
)
@project_option
def query(project_dir: str | None, limit: int | None, dead_letters: bool, **filters: Any) -> None:
    """Print matching state records as NDJSON, newest first.

    With --dead-letters, print the messages set aside after the receive limit (id for
    cirrus redrive-dlq, payload id, reason, receive count, body) instead.
    """
    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        if dead_letters:
            from cirrus.runtime import list_dead_letters

            for entry in list_dead_letters(pipeline.queue, limit or 1000):
                echo_json(entry)
            return
        for record in _records(pipeline, limit, **filters):
            echo_json(record.to_dict())


@click.command("get-input-payload")
@click.argument("payload_id")
@click.option("--rerun", is_flag=True, help="Set replace: true so that it runs again.")
@project_option
def get_input_payload(payload_id: str, rerun: bool, project_dir: str | None) -> None:
    """Print the input payload of PAYLOAD_ID's last execution."""
    from cirrus.storage import read_json

    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        payload = read_json(_execution_url(pipeline, _record(pipeline, payload_id), "input.json"))
        if rerun:
            payload["process"][0]["replace"] = True
        echo_json(payload)


@click.command("get-input-payloads")
@query_filters
@click.option("--rerun", is_flag=True, help="Set replace: true so that they run again.")
@project_option
def get_input_payloads(
    project_dir: str | None, limit: int | None, rerun: bool, **filters: Any
) -> None:
    """Print the input payloads of matching records as NDJSON (pipe into cirrus process -)."""
    from cirrus.errors import NotFound
    from cirrus.storage import read_json

    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        count = 0
        for record in _records(pipeline, limit, **filters):
            try:
                payload = read_json(_execution_url(pipeline, record, "input.json"))
            except NotFound as err:
                click.echo(f"skipped {record.payload_id}: {err}", err=True)
                continue
            if rerun:
                payload["process"][0]["replace"] = True
            echo_json(payload)
            count += 1
        click.echo(f"{count} payload(s)", err=True)


@click.command("get-output-payload")
@click.argument("payload_id")
@project_option
def get_output_payload(payload_id: str, project_dir: str | None) -> None:
    """Print the output payload of PAYLOAD_ID."""
    from cirrus.errors import NotFound
    from cirrus.storage import read_json

    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        record = _record(pipeline, payload_id)
        if not record.output_url:
            raise NotFound(f"payload {payload_id!r} has no output; it is {record.state.value}")
        echo_json(read_json(record.output_url))


@click.command("get-execution")
@click.argument("payload_id")
@project_option
def get_execution(payload_id: str, project_dir: str | None) -> None:
    """Print PAYLOAD_ID's last execution: name, status, times, input, output, error."""
    from cirrus.errors import NotFound
    from cirrus.storage import read_json

    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        record = _record(pipeline, payload_id)
        description: dict[str, Any] = {
            "payload_id": record.payload_id,
            "name": record.executions[-1] if record.executions else None,
            "executions": list(record.executions),
            "status": record.state.value,
            "updated": record.to_dict()["updated"],
            "error": record.last_error if record.state in (State.FAILED, State.INVALID) else None,
        }
        for part in ("input", "output"):
            try:
                description[part] = read_json(_execution_url(pipeline, record, f"{part}.json"))
            except NotFound:
                description[part] = None
        echo_json(description)


@click.command("get-execution-events")
@click.argument("payload_id")
@click.option(
    "--workflow-events", is_flag=True, help="The pipeline's events instead of the state history."
)
@project_option
def get_execution_events(payload_id: str, workflow_events: bool, project_dir: str | None) -> None:
    """Print the history events of PAYLOAD_ID's last execution as NDJSON."""
    from cirrus.errors import NotFound
    from cirrus.storage import read_json

    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        if workflow_events:
            for event in pipeline.db.events(payload_id):
                echo_json(event.to_dict())
            return
        record = _record(pipeline, payload_id)
        deployed = _deployed_execution(record)
        if deployed is not None:  # a deployment: Step Functions keeps every history
            from cirrus.aws.sfn import StepFunctions

            for step in StepFunctions().history(deployed):
                echo_json(step)
            return
        try:
            history = read_json(_execution_url(pipeline, record, "history.json"))
        except NotFound as err:
            raise NotFound(
                f"execution history of {payload_id!r} was not kept: by default only executions "
                "that did not succeed keep it; set keep_history: all in cirrus.yml (or "
                "CIRRUS_KEEP_HISTORY=all) to keep every one, or use --workflow-events"
            ) from err
        for event in history:
            echo_json(event)


def _deployed_execution(record: StateRecord) -> str | None:
    """The Step Functions ARN of a record's last execution, on a deployment (else None)."""
    base = os.environ.get("CIRRUS_BASE_WORKFLOW_ARN")
    if not base or not record.executions:
        return None
    from cirrus.aws.sfn import execution_arn

    return execution_arn(f"{base}{record.workflow}", record.executions[-1])


@click.command("abort")
@click.argument("payload_id")
@click.option("--cause", default="aborted by an operator", show_default=True)
@project_option
def abort(payload_id: str, cause: str, project_dir: str | None) -> None:
    """Stop PAYLOAD_ID's running execution; the payload becomes ABORTED.

    Locally the record is ABORTED at once and the worker running it stops the execution at
    its next state, terminating the task processes it started. On a deployment the Step
    Functions execution is stopped and update-state records ABORTED.
    """
    from cirrus.errors import StateError

    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        record = _record(pipeline, payload_id)
        arn = _deployed_execution(record)
        if arn is None:
            from cirrus.runtime.steer import abort as abort_locally

            aborted = abort_locally(pipeline.db, payload_id, cause=cause)
            click.echo(
                f"{payload_id} is ABORTED; its worker stops the execution at the next state",
                err=True,
            )
            echo_json(
                {
                    "payload_id": payload_id,
                    "execution": aborted.executions[-1] if aborted.executions else None,
                    "state": aborted.state.value,
                }
            )
            return
        from cirrus.aws.sfn import StepFunctions

        if record.state is not State.PROCESSING:
            raise StateError(f"payload {payload_id!r} is {record.state.value}, not PROCESSING")
        StepFunctions().stop(arn, error="Aborted", cause=cause)
        echo_json({"payload_id": payload_id, "execution": arn, "stopped": True})


_MGMT_COMMANDS = {
    "get-state": get_state_upstream,  # upstream's spelling prints upstream's shape
    "query": query,
    "get-input-payload": get_input_payload,
    "get-input-payloads": get_input_payloads,
    "get-output-payload": get_output_payload,
    "get-execution": get_execution,
    "get-execution-events": get_execution_events,
    "abort": abort,
}


# --help is read by hand: after COMMAND it belongs to that command (mgmt local query --help)
@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("deployment")
@click.argument("command", required=False, metavar="COMMAND [ARGS]...")
@click.pass_context
def mgmt(ctx: click.Context, deployment: str, command: str | None) -> None:
    """Upstream-style management: cirrus mgmt DEPLOYMENT COMMAND [ARGS]...

    DEPLOYMENT "local" is the embedded deployment of the current project; any other name is
    a deployed stack, found through SSM (/cirrus/deployments/<name>) in the account and region
    of the AWS credentials. COMMAND is one of process, run-workflow (local only), get-state,
    query, get-input-payload(s), get-output-payload, get-execution, get-execution-events,
    abort, status, serve (the dashboard and API on the deployment's state), list-deployments.
    """
    from cirrus.cli.pipeline import process, run_workflow
    from cirrus.cli.serve import serve
    from cirrus.cli.status import status

    if _HELP.intersection((deployment, command)):
        click.echo(ctx.get_help())
        return
    if command is None:
        raise click.UsageError("Missing argument 'COMMAND'.", ctx)
    environment: dict[str, str] = {}
    if deployment != "local":
        from cirrus.errors import ConfigError

        try:
            environment = _deployment_environment(deployment)
        except ConfigError as err:
            # a deployment that cannot be found is a wrong argument, as a wrong command is
            raise click.BadParameter(str(err), param_hint="DEPLOYMENT") from None
    commands: dict[str, click.Command] = {
        **_MGMT_COMMANDS,
        "process": process,
        "run-workflow": run_workflow,
        "status": status,
        "serve": serve,
    }
    if command == "list-deployments":
        with reporting_errors():
            from cirrus.aws.discovery import list_deployments

            echo_json(list_deployments())
        return
    target = commands.get(command)
    if target is None:
        click.echo(
            f"error: unknown command {command!r}; use one of {', '.join(sorted(commands))}",
            err=True,
        )
        sys.exit(ExitCode.INVALID)
    if environment and command == "run-workflow":
        click.echo(
            "error: run-workflow runs the workflow here; against a deployment use process "
            "and follow the payload with get-state",
            err=True,
        )
        sys.exit(ExitCode.INVALID)
    with _environment(environment):
        target.main(
            args=list(ctx.args),
            prog_name=f"cirrus mgmt {deployment} {command}",
            standalone_mode=True,
        )


_HELP = frozenset({"-h", "--help"})


def _deployment_environment(name: str) -> dict[str, str]:
    """The settings of deployed ``name`` as the runtime reads them (found through SSM)."""
    from cirrus.aws.discovery import deployment_environment
    from cirrus.aws.environment import runtime_environment

    return runtime_environment(deployment_environment(name))


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set, as it was afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
