"""``cirrus deploy [DEPLOYMENT]``: build, upload and create or update the stack.

Progress (steps and stack events) goes to stderr as plain lines; the stack's outputs go to
stdout as JSON. ``--delete`` deletes the stack instead.
"""

from __future__ import annotations

from pathlib import Path

import click

from cirrus.cli.build import build_options
from cirrus.cli.common import echo_json, project_option, require_project
from cirrus.cli.exits import reporting_errors

__all__ = ["deploy"]


def _parameters(values: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--parameter")
        found[key] = text
    return found


def _fate(policy: str, name: str) -> str:
    """What CloudFormation did with a bucket or table of a deleted stack."""
    if policy == "Delete":
        return "deleted with the stack"
    if policy == "Retain":
        return f"kept: delete {name} yourself when it is no longer needed"
    return f"{policy.lower()} (see CloudFormation's DeletionPolicy)"


@click.command()
@click.argument("deployment", required=False)
@click.option("--no-build", is_flag=True, help="Deploy the last `cirrus build` as it is.")
@build_options
@click.option("--region", help="AWS region (default: the deployment's `region:`, else boto3's).")
@click.option(
    "--endpoint-url",
    help="AWS API endpoint, e.g. an emulator's http://127.0.0.1:5000 "
    "(default: boto3's; AWS_ENDPOINT_URL is honoured).",
)
@click.option(
    "--parameter",
    "parameters",
    multiple=True,
    metavar="KEY=VALUE",
    help="A template parameter of your cloudformation/ fragments (repeatable).",
)
@click.option("--delete", "delete_stack", is_flag=True, help="Delete the stack instead.")
@click.option("--yes", is_flag=True, help="Delete without asking.")
@click.option(
    "--poll",
    "poll_seconds",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds between looks at the stack.",
)
@project_option
def deploy(
    deployment: str | None,
    no_build: bool,
    no_deps: bool,
    wheels: Path | None,
    out_dir: Path | None,
    region: str | None,
    endpoint_url: str | None,
    parameters: tuple[str, ...],
    delete_stack: bool,
    yes: bool,
    poll_seconds: float,
    project_dir: str | None,
) -> None:
    """Deploy DEPLOYMENT (default: the project's default deployment) to AWS.

    Builds (unless --no-build), makes the artifact bucket if missing, uploads the zips
    that changed, creates or updates the CloudFormation stack and waits for it, showing
    its events on stderr. Prints the stack's outputs as JSON. With --delete, deletes the
    stack; its buckets and table follow their DeletionPolicy.
    """
    from cirrus.aws.deploy import delete, deploy

    def progress(line: str) -> None:
        click.echo(line, err=True)

    with reporting_errors():
        project = require_project(project_dir)
        if delete_stack:
            if not yes:
                click.confirm(
                    f"Delete the stack of deployment {deployment or '(default)'} of "
                    f"{project.config.name}?",
                    abort=True,
                    err=True,
                )
            deleted = delete(
                project,
                deployment,
                region=region,
                endpoint_url=endpoint_url,
                progress=progress,
                poll_seconds=poll_seconds,
            )
            if deleted.deleted:
                for logical, policy in deleted.retention.items():
                    name = deleted.names.get(logical) or logical
                    progress(f"{logical} {name}: DeletionPolicy {policy}: {_fate(policy, name)}")
                progress(f"the artifact bucket {deleted.artifact_bucket} is not in the stack: kept")
            echo_json(deleted.to_dict())
            return
        result = deploy(
            project,
            deployment,
            build=not no_build,
            dependencies=not no_deps,
            wheels=wheels,
            out_dir=out_dir,
            region=region,
            endpoint_url=endpoint_url,
            parameters=_parameters(parameters),
            progress=progress,
            poll_seconds=poll_seconds,
        )
    progress(f"stack {result.stack_name} {result.action} ({result.status})")
    echo_json(result.to_dict())
