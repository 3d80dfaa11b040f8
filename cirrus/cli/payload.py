"""``cirrus payload``: work with payload files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cirrus.cli.common import echo_json
from cirrus.cli.exits import reporting_errors

__all__ = ["payload"]


def _read(source: str) -> dict[str, object]:
    from cirrus.storage import load_payload
    from cirrus.task.cli import read_input

    return load_payload(read_input(source))


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
        for document in unwrap(read_input(source), source):
            if document.payload is None:
                raise PayloadError("$", document.error or "is not a payload")
            data = load_payload(document.payload)
            click.echo(Payload.from_dict(data, copy_data=False).id)


@payload.command("validate")
@click.argument("source", default="-")
def validate(source: str) -> None:
    """Check SOURCE against the payload schema; exit 2 naming the field if it is wrong."""
    from cirrus.payload import Payload

    with reporting_errors():
        model = Payload.from_dict(_read(source), copy_data=False)
        click.echo(f"valid: {model.id}", err=True)


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
