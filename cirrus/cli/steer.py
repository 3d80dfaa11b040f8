"""``cirrus purge``: drop queued payloads that no worker has started."""

from __future__ import annotations

import sys

import click

from cirrus.cli.common import echo_json, project_option
from cirrus.cli.exits import ExitCode, reporting_errors
from cirrus.cli.pipeline import open_pipeline

__all__ = ["purge"]


@click.command()
@click.option("--workflow", help="Only payloads of this workflow (default: every one).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@project_option
def purge(workflow: str | None, yes: bool, project_dir: str | None) -> None:
    """Drop queued payloads that have not started (running ones are left alone).

    Prints how many would go and asks before dropping them (--yes skips the question; without
    a terminal to ask on, --yes is required).
    """
    from cirrus.runtime.steer import plan_purge

    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        plan = plan_purge(pipeline.queue, workflow)
        try:
            which = f" of workflow {workflow}" if workflow else ""
            if plan.count == 0:
                click.echo(f"no queued payloads{which} to purge", err=True)
                plan.cancel()
                echo_json({"purged": 0})
                return
            detail = ", ".join(f"{name}: {n}" for name, n in sorted(plan.workflows.items()))
            click.echo(f"{plan.count} queued payload(s){which} ({detail})", err=True)
            if not yes:
                if not sys.stdin.isatty():
                    plan.cancel()
                    click.echo(
                        "error: not purging without confirmation: add --yes to purge them",
                        err=True,
                    )
                    sys.exit(ExitCode.INVALID)
                if not click.confirm("drop them?", err=True):
                    plan.cancel()
                    click.echo("nothing purged", err=True)
                    echo_json({"purged": 0})
                    return
            purged = plan.confirm()
        except BaseException:
            plan.cancel()
            raise
        click.echo(f"purged {purged} payload(s)", err=True)
        echo_json({"purged": purged, "workflows": plan.workflows})
