"""The ``cirrus`` command: a click group whose subcommands load only when used.

Each subcommand lives in its own module under ``cirrus.cli``; listing them here by
dotted path keeps ``cirrus --help`` and every single command quick to start.
"""

from __future__ import annotations

import importlib

import click

from cirrus import __version__

# command name -> "module:attribute" of the click command or group
COMMANDS: dict[str, str] = {
    "run": "cirrus.cli.run:run",
    "payload": "cirrus.cli.payload:payload",
    "statemachine": "cirrus.cli.statemachine:statemachine",
    "init": "cirrus.cli.project:init",
    "create": "cirrus.cli.project:create",
    "show": "cirrus.cli.project:show",
    "validate": "cirrus.cli.project:validate",
    "process": "cirrus.cli.pipeline:process",
    "run-workflow": "cirrus.cli.pipeline:run_workflow",
    "worker": "cirrus.cli.pipeline:worker",
    "redrive": "cirrus.cli.redrive:redrive",
    "redrive-dlq": "cirrus.cli.dead_letters:redrive_dlq",
    "get-state": "cirrus.cli.manage:get_state",
    "query": "cirrus.cli.manage:query",
    "get-input-payload": "cirrus.cli.manage:get_input_payload",
    "get-input-payloads": "cirrus.cli.manage:get_input_payloads",
    "get-output-payload": "cirrus.cli.manage:get_output_payload",
    "get-execution": "cirrus.cli.manage:get_execution",
    "get-execution-events": "cirrus.cli.manage:get_execution_events",
    "logs": "cirrus.cli.logs:logs",
    "mgmt": "cirrus.cli.manage:mgmt",
    "demo": "cirrus.cli.demo:demo",
    "build": "cirrus.cli.build:build",
    "cost": "cirrus.cli.cost:cost",
    "deploy": "cirrus.cli.deploy:deploy",
    "rehearse": "cirrus.cli.rehearse:rehearse",
    "status": "cirrus.cli.status:status",
    "serve": "cirrus.cli.serve:serve",
    "abort": "cirrus.cli.manage:abort",
    "purge": "cirrus.cli.steer:purge",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="cirrus")
def cli() -> None:
    """Run STAC processing pipelines locally and deploy them to AWS."""


def main() -> None:
    """Console-script entry point (click exits with the command's status)."""
    cli(prog_name="cirrus")
