"""``cirrus payload``: work with payload files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cirrus.cli.common import check_input_file, echo_json, project_option
from cirrus.cli.exits import reporting_errors

if TYPE_CHECKING:
    from cirrus.runtime import Admission

__all__ = ["payload", "read_text"]


@click.group()
def payload() -> None:
    """Inspect, validate and template payloads."""


@payload.command("get-id")
@click.argument("source", default="-")
def get_id(source: str) -> None:
    """Print the payload id of SOURCE (a file, URL or - for stdin).

    SQS and SNS envelopes are opened as `cirrus process` opens them; one id per payload.
    """
    from cirrus.errors import PayloadError
    from cirrus.payload import Payload
    from cirrus.runtime.intake import unwrap
    from cirrus.storage import load_payload
    from cirrus.task.cli import read_input

    with reporting_errors():
        check_input_file(source)
        for document in unwrap(read_input(source), source):
            if document.payload is None:
                raise PayloadError("$", document.error or "is not a payload")
            data = load_payload(document.payload)
            click.echo(Payload.from_dict(data, copy_data=False).id)


@payload.command("validate")
@click.argument("source", default="-")
@project_option
def validate(source: str, project_dir: str | None) -> None:
    """Check SOURCE as cirrus process would admit it; exit 2 naming the field if it is wrong.

    The same checks as the pipeline's intake: size, depth and strict JSON, references read
    within their limits, the payload schema, unambiguous ids, the project's workflows and
    where path_template may write. Envelopes (SQS, SNS) are opened as process opens them.
    """
    from cirrus.runtime.intake import unwrap

    with reporting_errors():
        check_input_file(source)
        admission = _admission(project_dir)
        text = read_text(source, admission)
        documents = list(unwrap(admission.parse(text, source), source))
        first_error: Exception | None = None
        for document in documents:
            try:
                if document.payload is None:
                    from cirrus.errors import PayloadError

                    raise PayloadError(document.where or source, str(document.error))
                model = admission.admit(document.payload)
            except Exception as err:
                if len(documents) == 1:
                    raise
                click.echo(f"invalid: {err}", err=True)
                first_error = first_error or err
                continue
            click.echo(f"valid: {model.id}", err=True)
        if first_error is not None:
            raise first_error


def _admission(project_dir: str | None) -> Admission:  # the project's, or the defaults
    """The admission of the project (or of the working directory's defaults)."""
    from cirrus.cli.common import find_project_or_none
    from cirrus.project import Project
    from cirrus.runtime import Admission, RuntimeSettings

    project = find_project_or_none(project_dir)
    settings = RuntimeSettings.from_config((project or Project.embedded(Path.cwd())).config)
    if project is not None:
        return Admission.for_pipeline(settings, project)
    click.echo(
        "not inside a cirrus project: workflow names and path_template roots are not checked",
        err=True,
    )
    return Admission(settings.limits)


def read_text(source: str, admission: Admission) -> str:
    """The text of SOURCE: ``-`` (stdin), a URL (read within the reference limits) or a file."""
    from cirrus.errors import PayloadError

    if source == "-":
        return sys.stdin.read()
    if "://" in source:
        from cirrus.storage import read_reference

        limits = admission.limits
        raw = read_reference(
            source,
            max_bytes=limits.reference_max_bytes,
            timeout=limits.reference_timeout_seconds,
        )
    else:
        try:
            raw = Path(source).read_bytes()
        except OSError as err:
            raise PayloadError("$", f"cannot read {source} ({err.strerror})") from None
    try:
        return raw.decode()
    except UnicodeDecodeError as err:
        raise PayloadError("$", f"of {source} is not UTF-8 text ({err})") from None


@payload.command("template")
@click.argument("source", default="-")
@click.option(
    "--var",
    "variables",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="A variable for $NAME / ${NAME} / ${NAME?default}; repeatable.",
)
@click.option(
    "--silence-templating-errors",
    is_flag=True,
    help="Leave variables that have no value as written instead of failing.",
)
def template(
    source: str, variables: tuple[tuple[str, str], ...], silence_templating_errors: bool
) -> None:
    """Fill the variables in SOURCE and print the payload JSON.

    $$ writes a literal $; the ${collection}, ${id} ... of a path_template are kept for the
    workflow to fill per item.
    """
    from cirrus.errors import PayloadError
    from cirrus.templating import render_payload_template

    with reporting_errors():
        check_input_file(source)
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
        rendered = render_payload_template(
            text, dict(variables), silence_errors=silence_templating_errors
        )
        try:
            echo_json(json.loads(rendered))
        except ValueError as err:
            raise PayloadError("$", f"is not JSON after templating ({err})") from err


@payload.command("cat")
@click.argument("url")
def cat(url: str) -> None:
    """Print the object stored at URL (sqlite://, file, s3://...), e.g. a kept invalid input."""
    from cirrus.storage import read_bytes

    with reporting_errors():
        data = read_bytes(url)
    sys.stdout.buffer.write(data if data.endswith(b"\n") else data + b"\n")
