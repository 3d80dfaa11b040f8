"""``cirrus rehearse PAYLOADS``: the built stack on a local AWS emulator, run for real."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cirrus.cli.common import InputFile, echo_json, project_option, require_project
from cirrus.cli.exits import reporting_errors

__all__ = ["rehearse"]


@click.command()
@click.argument("payloads", type=InputFile())
@click.option(
    "--deployment", help="The deployment of cirrus.yml to rehearse (default: the default)."
)
@project_option
def rehearse(payloads: str, deployment: str | None, project_dir: str | None) -> None:
    """Deploy the project to a local AWS emulator and run PAYLOADS (NDJSON, or - for stdin).

    moto's server starts on 127.0.0.1 (no Docker, no account); the built stack is deployed
    to it; the deployed functions handle the payloads, the deployed state machines run on
    cirrus's engine with their Lambda ARNs running the built code zip. Prints every
    payload's record as NDJSON. Not checked: IAM by resource, the real Lambda runtime,
    Batch containers, CloudFormation replacement rules.
    """
    from cirrus.aws.rehearse import local_aws
    from cirrus.aws.rehearse import rehearse as run_rehearsal
    from cirrus.errors import ConfigError

    with reporting_errors():
        project = require_project(project_dir)
        documents = []
        if payloads == "-":
            lines = sys.stdin.readlines()
        else:
            lines = Path(payloads).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    documents.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ConfigError(f"line {number} is not JSON: {err.msg}") from err
        try:
            import moto  # noqa: F401 - only to say what is missing
        except ImportError:
            raise ConfigError(
                "a rehearsal needs the AWS emulator: pip install 'moto[server]>=5'"
            ) from None
        click.echo(f"rehearsing {Path(project.root).name} on a local AWS emulator", err=True)
        with local_aws() as environment:
            result = run_rehearsal(
                project,
                documents,
                deployment,
                environment=environment,
                progress=lambda line: click.echo(line, err=True),
            )
        click.echo(f"{result.executions} execution(s) ran", err=True)
        for record in result.records:
            echo_json(record)
