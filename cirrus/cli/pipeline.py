"""``cirrus process``, ``cirrus run-workflow`` and ``cirrus worker``."""

from __future__ import annotations

import contextlib
import os
import sys
from collections import Counter
from typing import IO, TYPE_CHECKING, Any

import click

from cirrus.cli.common import check_input_file, echo_json, project_option, require_project
from cirrus.cli.exits import ExitCode, reporting_errors

if TYPE_CHECKING:
    from cirrus.runtime import Outcome, PayloadResult, Pipeline, SubmitReport

__all__ = ["process", "run_workflow", "worker"]


def open_pipeline(project_dir: str | None, **overrides: Any) -> Pipeline:
    """The pipeline of ``--project`` or the working directory.

    Outside a project it is refused, unless ``CIRRUS_STATE_DB`` says where the state is
    (as for a deployment, ``cirrus mgmt <deployment> ...``): a pipeline silently made in
    ``./.cirrus`` would hide the mistake.

    Raises:
        ConfigError: no project, and no state database named by the environment.
    """
    from cirrus.cli.common import find_project_or_none
    from cirrus.runtime import Pipeline

    if os.environ.get("CIRRUS_STATE_DB"):
        return Pipeline.for_project(find_project_or_none(project_dir), **overrides)
    return Pipeline.for_project(require_project(project_dir), **overrides)


def drain_with_progress(
    pipeline: Pipeline,
    workers: int | None,
    processes: int | None = None,
    *,
    source: IO[str] | None = None,
    name: str = "input",
) -> tuple[SubmitReport | None, Counter[Outcome]]:
    """Run workers until the queue is empty, with a progress bar on stderr.

    With ``source``, its payloads are submitted while the workers already run.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    counts: Counter[Outcome] = Counter()
    with Progress(
        TextColumn("[bold]processing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[summary]}"),
        TimeElapsedColumn(),
        console=console,
        transient=not console.is_terminal,
        disable=not console.is_terminal,
    ) as progress:
        bar = progress.add_task("payloads", total=None, summary="")

        def on_result(result: PayloadResult) -> None:
            counts[result.outcome] += 1
            if result.outcome.is_failure:
                console.print(
                    f"[red]{result.outcome}[/] {result.payload_id or ''} {result.error or ''}"
                )
            done = sum(counts.values())
            visible, in_flight = pipeline.queue.counts() if done % 100 == 0 else (0, 0)
            summary = " ".join(f"{name}={count}" for name, count in sorted(counts.items()))
            total = max(done + visible + in_flight, progress.tasks[0].total or 0)
            progress.update(bar, completed=done, total=total, summary=summary)

        if source is None:
            pipeline.drain(on_result, workers=workers, processes=processes)
            return None, counts
        report, _ = pipeline.process_stream(
            source, name, on_result, workers=workers, processes=processes
        )
    return report, counts


def _count_dead_letters(pipeline: Pipeline, summary: dict[str, int]) -> None:
    """Add the dead-letter store's size to a summary (when it holds any), and say so."""
    from cirrus.runtime import dead_letter_count

    letters = dead_letter_count(pipeline.queue)
    if letters:
        summary["dead_letters"] = letters
        click.echo(
            f"{letters} message(s) in the dead-letter store: see cirrus query --dead-letters, "
            "resubmit with cirrus redrive-dlq",
            err=True,
        )


_MAX_RECEIVES = click.option(
    "--max-receives",
    type=click.IntRange(min=1),
    help="Deliveries before a message goes to the dead letters (cirrus.yml max_receives).",
)


@click.command()
@click.argument("source", default="-")
@click.option("--wait", is_flag=True, help="Process everything submitted, chains included.")
@click.option("--workers", type=click.IntRange(min=1), help="Payloads run at once (with --wait).")
@click.option(
    "--processes", type=click.IntRange(min=1), help="Worker processes, one per core (with --wait)."
)
@_MAX_RECEIVES
@project_option
def process(
    source: str,
    wait: bool,
    workers: int | None,
    processes: int | None,
    max_receives: int | None,
    project_dir: str | None,
) -> None:
    """Submit the payloads in SOURCE (file or - for stdin: JSON, JSON array or NDJSON).

    SQS and SNS envelopes and {"url": ...} references are accepted. With --wait, process
    them now and print a summary; the exit status is 1 if any payload did not succeed.
    """
    from cirrus.runtime import Outcome

    with reporting_errors():
        check_input_file(source)
        pipeline = open_pipeline(project_dir, max_receives=max_receives)
    with reporting_errors(), pipeline:
        name = "stdin" if source == "-" else source
        with contextlib.ExitStack() as stack:
            stream = sys.stdin if source == "-" else stack.enter_context(open(source))
            counts: Counter[Outcome] = Counter()
            if wait:  # processing starts with the first payloads read
                submitted, counts = drain_with_progress(
                    pipeline, workers, processes, source=stream, name=name
                )
                assert submitted is not None
                report = submitted
            else:
                report = pipeline.submit_stream(stream, name)
        for reason in report.rejected:
            click.echo(f"rejected: {reason}", err=True)
        for payload_id in report.duplicates:
            click.echo(f"duplicate (dropped): {payload_id}", err=True)
        click.echo(f"queued {report.queued} payload(s)", err=True)
        # input refused when submitted and when read by a worker count as one outcome
        summary: dict[str, int] = {"queued": report.queued, Outcome.REJECTED: len(report.rejected)}
        if report.duplicates:
            summary[Outcome.DUPLICATE] = len(report.duplicates)
        for outcome, count in counts.items():
            summary[outcome] = summary.get(outcome, 0) + count
        _count_dead_letters(pipeline, summary)
        echo_json(summary)
    if any(summary.get(outcome) for outcome in Outcome if outcome.is_failure):
        sys.exit(ExitCode.FAILED)


@click.command("run-workflow")
@click.argument("source", default="-")
@project_option
def run_workflow(source: str, project_dir: str | None) -> None:
    """Run one payload now and print its output payload.

    Exit status: 0 succeeded, 10 failed, invalid or aborted, 11 timed out, 2 refused
    before it ran (what cirrus payload validate refuses).
    """
    from cirrus.cli.payload import read_text
    from cirrus.runtime import Outcome

    with reporting_errors():
        check_input_file(source)
        pipeline = open_pipeline(project_dir)
    with reporting_errors(), pipeline:
        admission = pipeline.admission
        result = pipeline.run_one(admission.parse(read_text(source, admission), source))
        if result.outcome is Outcome.SUCCEEDED:
            echo_json(result.output)
            return
        if result.outcome is Outcome.ALREADY_SUCCEEDED:
            record = pipeline.db.get(result.payload_id or "")
            click.echo(
                f"{result.payload_id} already succeeded; set replace: true to run it again",
                err=True,
            )
            if record is not None and record.output_url:
                from cirrus.storage import read_json

                echo_json(read_json(record.output_url))
            return
        detail = " ".join(part for part in (result.payload_id, result.error) if part)
        click.echo(f"{result.outcome}: {detail}", err=True)
    timed_out = result.outcome is Outcome.TIMED_OUT
    sys.exit(ExitCode.WORKFLOW_TIMED_OUT if timed_out else ExitCode.WORKFLOW_FAILED)


@click.command()
@click.option("--workers", type=click.IntRange(min=1), help="Payloads run at once.")
@click.option("--until-empty", is_flag=True, help="Stop when nothing is left to do.")
@click.option("--processes", type=click.IntRange(min=1), help="Worker processes (--until-empty).")
@_MAX_RECEIVES
@project_option
def worker(
    workers: int | None,
    until_empty: bool,
    processes: int | None,
    max_receives: int | None,
    project_dir: str | None,
) -> None:
    """Process submitted payloads (forever, or --until-empty)."""
    with reporting_errors(), open_pipeline(project_dir, max_receives=max_receives) as pipeline:
        if until_empty:
            _, counts = drain_with_progress(pipeline, workers, processes)
        else:
            click.echo("worker started; Ctrl-C stops it", err=True)
            running = pipeline.worker(workers=workers)
            try:
                counts = running.run(until_empty=False)
            except KeyboardInterrupt:
                counts = running.counts
            finally:
                running.close()
        summary: dict[str, int] = {str(outcome): count for outcome, count in counts.items()}
        _count_dead_letters(pipeline, summary)
        echo_json(summary)
