"""``cirrus status``: the pipeline at a glance."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cirrus.cli.common import echo_json, project_option
from cirrus.cli.exits import reporting_errors
from cirrus.cli.pipeline import open_pipeline

if TYPE_CHECKING:
    from cirrus.runtime.status import PipelineStatus

__all__ = ["status"]

_STATES = ("CLAIMED", "PROCESSING", "SUCCEEDED", "FAILED", "INVALID", "ABORTED")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead.")
@project_option
def status(as_json: bool, project_dir: str | None) -> None:
    """Counts per workflow and state, throughput, the last hour's failures, what is stuck."""
    from cirrus.runtime.status import pipeline_status

    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        current = pipeline_status(pipeline.db, pipeline.queue)
    if as_json:
        echo_json(current.to_dict())
    else:
        click.echo(render(current))


def render(current: PipelineStatus) -> str:
    """The status as plain text lines (no colour, fit for logs)."""
    from cirrus.runtime.status import RATE_MINUTES

    lines: list[str] = []
    states = [state for state in _STATES if current.totals.get(state)] or ["SUCCEEDED", "FAILED"]
    width = max([len("workflow"), *(len(name) for name in current.counts)])
    lines.append("  ".join(["workflow".ljust(width), *(state.rjust(10) for state in states)]))
    for workflow, counts in current.counts.items():
        cells = [str(counts.get(state, 0)).rjust(10) for state in states]
        lines.append("  ".join([workflow.ljust(width), *cells]))
    if not current.counts:
        lines.append("(no payloads yet)")
    lines.append("")
    lines.append(f"throughput: {current.rate:.2f} payloads/s over the last {RATE_MINUTES} minutes")
    if current.oldest_processing is not None:
        record = current.oldest_processing
        since = record.started or record.updated
        age = (current.now - since).total_seconds()
        lines.append(f"oldest PROCESSING: {record.payload_id} for {_age(age)}")
    else:
        lines.append("oldest PROCESSING: none")
    if current.queued is not None:
        lines.append(
            f"queue: {current.queued} queued, {current.in_flight} in flight, "
            f"{current.dead_letters} dead letters"
        )
    if current.failures:
        lines.append("failures in the last hour:")
        for group in current.failures:
            lines.append(f"  {group.count:>6}  {group.prefix}  (e.g. {group.example_id})")
    else:
        lines.append("failures in the last hour: none")
    return "\n".join(lines)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
