"""``cirrus process``, ``cirrus run-workflow`` and ``cirrus worker``."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from collections import Counter
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import click

from cirrus.cli.common import check_input_file, echo_json, project_option, require_project
from cirrus.cli.exits import ExitCode, reporting_errors
from cirrus.cli.logs import log_level_option

if TYPE_CHECKING:
    from cirrus.cli.progress import ProgressReporter
    from cirrus.runtime import Outcome, Pipeline, SubmitReport

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
    project_dir: str | None = None,
) -> tuple[SubmitReport | None, Counter[Outcome]]:
    """Run workers until the queue is empty, showing progress on stderr.

    With ``source``, its payloads are submitted while the workers already run. Ctrl-C
    prints what finished and what was in flight, and exits 130.
    """
    from cirrus.cli.progress import ProgressReporter

    with ProgressReporter() as reporter, interrupt_summary(pipeline, reporter, project_dir):
        if source is None:
            pipeline.drain(reporter.result, workers=workers, processes=processes)
            return None, reporter.counts
        report, _ = pipeline.process_stream(
            source,
            name,
            reporter.result,
            on_read=reporter.read,
            workers=workers,
            processes=processes,
        )
    return report, reporter.counts


@contextlib.contextmanager
def interrupt_summary(
    pipeline: Pipeline, reporter: ProgressReporter, project_dir: str | None
) -> Iterator[None]:
    """Ctrl-C (or SIGTERM) in the block prints what finished, what was in flight and the
    command that finishes the rest, then ends the process with status 130.

    The worker has already written out the executions that finished when the interruption
    reaches here (see :mod:`cirrus.runtime.signals`); the payloads still in flight keep their
    state records and queue messages, and the next worker resumes them. The process ends at
    once, so that a thread still reading the input cannot hold it open.
    """
    try:
        yield
    except KeyboardInterrupt:
        reporter.close()
        try:
            queued, in_flight = pipeline.queue.counts()
        except Exception:  # the summary must not fail on a busy database  # noqa: BLE001
            queued = in_flight = -1
        finish = "cirrus worker --until-empty"
        if project_dir:
            finish += f" --project {shlex.quote(project_dir)}"
        lines = [
            f"interrupted: {reporter.done} payload(s) finished ({reporter.summary() or 'none'})",
            f"in flight: {in_flight} payload(s) being processed, {queued} still queued; "
            "they are kept and resumed by the next worker",
            f"finish the rest with: {finish}",
        ]
        for line in lines:
            reporter.line(line)
        echo_json(
            {**dict(reporter.counts), "interrupted": True, "in_flight": in_flight, "queued": queued}
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(ExitCode.INTERRUPTED)


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
@log_level_option
@_MAX_RECEIVES
@project_option
def process(
    source: str,
    wait: bool,
    workers: int | None,
    processes: int | None,
    log_level: str | None,
    max_receives: int | None,
    project_dir: str | None,
) -> None:
    """Submit the payloads in SOURCE (file or - for stdin: JSON, JSON array or NDJSON).

    SQS and SNS envelopes and {"url": ...} references are accepted. With --wait, process
    them now and print a summary; the exit status is 1 if any payload did not succeed.
    """
    from cirrus.runtime import Outcome
    from cirrus.task.machine_output import guard_stdout

    guard_stdout()  # what tasks print goes to their logs or stderr, never into the summary
    with reporting_errors():
        check_input_file(source)
        pipeline = open_pipeline(project_dir, log_level=log_level, max_receives=max_receives)
    with reporting_errors(), pipeline:
        name = "stdin" if source == "-" else source
        with contextlib.ExitStack() as stack:
            stream = sys.stdin if source == "-" else stack.enter_context(open(source))
            counts: Counter[Outcome] = Counter()
            if wait:  # processing starts with the first payloads read
                submitted, counts = drain_with_progress(
                    pipeline, workers, processes, source=stream, name=name, project_dir=project_dir
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
@log_level_option
@project_option
def run_workflow(source: str, log_level: str | None, project_dir: str | None) -> None:
    """Run one payload now and print its output payload.

    Exit status: 0 succeeded, 10 failed, invalid or aborted, 11 timed out, 2 refused
    before it ran (what cirrus payload validate refuses).
    """
    from cirrus.cli.payload import read_text
    from cirrus.runtime import Outcome
    from cirrus.task.machine_output import guard_stdout

    guard_stdout()  # what tasks print goes to their logs or stderr, never into the output
    with reporting_errors():
        check_input_file(source)
        pipeline = open_pipeline(project_dir, log_level=log_level)
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
@click.option("--quiet", "-q", is_flag=True, help="Print only failures, not every payload.")
@log_level_option
@_MAX_RECEIVES
@project_option
def worker(
    workers: int | None,
    until_empty: bool,
    processes: int | None,
    quiet: bool,
    log_level: str | None,
    max_receives: int | None,
    project_dir: str | None,
) -> None:
    """Process submitted payloads (forever, or --until-empty).

    Prints one line per finished payload on stderr (only failures with --quiet); Ctrl-C
    prints what finished and what was in flight, and exits 130.
    """
    from cirrus.cli.progress import ProgressReporter
    from cirrus.task.machine_output import guard_stdout

    guard_stdout()  # what tasks print goes to their logs or stderr, never into the counts
    with (
        reporting_errors(),
        open_pipeline(project_dir, log_level=log_level, max_receives=max_receives) as pipeline,
    ):
        if until_empty:
            _, counts = drain_with_progress(pipeline, workers, processes, project_dir=project_dir)
        else:
            click.echo("worker started; Ctrl-C stops it", err=True)
            with (
                ProgressReporter(every_success=not quiet, bar=False) as reporter,
                interrupt_summary(pipeline, reporter, project_dir),
            ):
                running = pipeline.worker(reporter.result, workers=workers)
                try:
                    counts = running.run(until_empty=False)
                finally:
                    running.close()
        summary: dict[str, int] = {str(outcome): count for outcome, count in counts.items()}
        _count_dead_letters(pipeline, summary)
        echo_json(summary)
