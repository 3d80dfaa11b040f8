"""``cirrus redrive PAYLOAD_ID``: run a failed payload again from the state that failed."""

from __future__ import annotations

import click

from cirrus.cli.common import echo_json, project_option
from cirrus.cli.exits import reporting_errors

__all__ = ["redrive"]


@click.command()
@click.argument("payload_id")
@project_option
def redrive(payload_id: str, project_dir: str | None) -> None:
    """Redrive PAYLOAD_ID's failed execution, as AWS's RedriveExecution does.

    Its last execution runs again from the state that failed, reusing what the states
    before it returned; the payload is queued (run it with cirrus worker or cirrus process
    --wait). Prints {"payload_id", "execution", "redrive_from", "redrive_count", "queued"}.
    """
    from cirrus.cli.pipeline import open_pipeline
    from cirrus.runtime.redrive import request_redrive

    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        echo_json(request_redrive(pipeline, payload_id).to_dict())
