"""``cirrus build [DEPLOYMENT]``: the project as a CloudFormation stack, zips and manifest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cirrus.cli.common import echo_json, project_option, require_project
from cirrus.cli.exits import reporting_errors

__all__ = ["build", "build_options"]


def build_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The options of a build, shared by ``cirrus build`` and ``cirrus deploy``."""
    options = [
        click.option(
            "--no-deps",
            is_flag=True,
            help="Leave out the layer of third-party packages (no pip, no network).",
        ),
        click.option(
            "--wheels",
            type=click.Path(file_okay=False, exists=True, path_type=Path),
            help="Build the dependency layer from this folder of wheels only (no index).",
        ),
        click.option(
            "--out",
            "out_dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="The build folder (default .cirrus/build/aws in the project).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.command()
@click.argument("deployment", required=False)
@build_options
@project_option
def build(
    deployment: str | None,
    no_deps: bool,
    wheels: Path | None,
    out_dir: Path | None,
    project_dir: str | None,
) -> None:
    """Build DEPLOYMENT (default: the project's default deployment) for AWS.

    Writes template.json (one CloudFormation stack), the Lambda zips and manifest.json
    (every resource's name, environment, IAM statements and workflow definition) to
    .cirrus/build/aws/, and prints a summary as JSON.
    """
    from cirrus.aws.build import build as build_project

    with reporting_errors():
        project = require_project(project_dir)
        result = build_project(
            project, deployment, out_dir=out_dir, dependencies=not no_deps, wheels=wheels
        )
    for warning in result.warnings:
        click.echo(warning.format(project.root), err=True)
    resources = result.template.get("Resources", {})
    click.echo(
        f"built deployment {result.deployment.name} (prefix {result.deployment.prefix}): "
        f"{len(resources)} resources, {len(result.workflows)} workflow(s) in {result.out_dir}",
        err=True,
    )
    echo_json(
        {
            "deployment": result.deployment.name,
            "prefix": result.deployment.prefix,
            "template": str(result.template_path),
            "manifest": str(result.manifest_path),
            "zips": {name: str(path) for name, path in result.zips.items()},
            "parameters": result.parameters,
            "warnings": [warning.format(project.root) for warning in result.warnings],
        }
    )
