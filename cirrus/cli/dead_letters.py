"""``cirrus redrive-dlq``: send dead letters back into the work queue."""

from __future__ import annotations

import click

from cirrus.cli.common import echo_json, project_option
from cirrus.cli.exits import reporting_errors
from cirrus.cli.pipeline import open_pipeline

__all__ = ["redrive_dlq"]


@click.command("redrive-dlq")
@click.option(
    "--id",
    "ids",
    multiple=True,
    help="A dead letter's id (from cirrus query --dead-letters); repeatable. Default: all.",
)
@project_option
def redrive_dlq(ids: tuple[str, ...], project_dir: str | None) -> None:
    """Move dead letters back into the work queue, to be run again.

    Each comes back as a new message; run cirrus worker --until-empty (or process --wait)
    to process it. Prints {"redriven": N, "dead_letters": left}.
    """
    from cirrus.runtime.dead_letters import dead_letter_count, redrive

    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        moved = redrive(pipeline.queue, list(ids) if ids else None)
        left = dead_letter_count(pipeline.queue)
        if ids and moved < len(set(ids)):
            click.echo(
                f"{len(set(ids)) - moved} id(s) named no dead letter; list them with "
                "cirrus query --dead-letters",
                err=True,
            )
        click.echo(f"redriven {moved} dead letter(s); {left} left", err=True)
        echo_json({"redriven": moved, "dead_letters": left})
