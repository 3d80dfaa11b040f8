"""``cirrus demo``: run a real geospatial pipeline end to end in a folder of its own."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cirrus.cli.common import echo_json
from cirrus.cli.exits import ExitCode, reporting_errors

if TYPE_CHECKING:
    from rich.console import Console

    from cirrus.demo.run import DemoResult
    from cirrus.runtime import PayloadResult

__all__ = ["demo"]

STEPS = 5


@click.command()
@click.argument("folder", default="cirrus-demo", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--scenes", type=click.IntRange(1, 3), default=2, show_default=True, help="Input scenes."
)
@click.option("--workers", type=click.IntRange(min=1), help="Payloads processed at once.")
def demo(folder: Path, scenes: int, workers: int | None) -> None:
    """Run the demo pipeline in FOLDER (default: ./cirrus-demo).

    An earlier demo in FOLDER is replaced, so the command can be run again as it is; a
    non-empty folder the demo did not make is never touched.

    Copies the demo project there, makes small GeoTIFF scenes, runs them through the
    cog-thumbnail workflow (Cloud-Optimized GeoTIFF, PNG thumbnail, publish) on the
    embedded pipeline, builds a static STAC catalog in FOLDER/catalog and validates it.
    Progress and a summary go to stderr, a JSON summary to stdout; the exit status is 1
    when anything failed or did not validate.
    """
    from rich.console import Console

    from cirrus.demo.run import run_demo

    console = Console(stderr=True, highlight=False)
    display = _Progress(console)
    with reporting_errors():
        try:
            result = run_demo(
                folder,
                force=True,  # only ever replaces a folder that an earlier demo made
                scenes=scenes,
                workers=workers,
                on_step=display.step,
                on_submitted=display.submitted,
                on_result=display.result,
            )
        finally:
            display.stop()
    _print_summary(console, result)
    echo_json(result.to_dict())
    if not result.ok:
        sys.exit(ExitCode.FAILED)


class _Progress:
    """Numbered steps, one line per finished payload, and a bar on terminals."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.number = 0
        self.done = 0
        self.total = 0
        self._bar: object | None = None

    def step(self, text: str) -> None:
        self.stop()
        self.number += 1
        self.console.print(f"[bold cyan][{self.number}/{STEPS}][/] {text}")

    def submitted(self, count: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self.total = count
        self.console.print(f"      queued {count} payload(s)")
        if self.console.is_terminal:
            bar = Progress(
                "      ",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            bar.add_task("payloads", total=count)
            bar.start()
            self._bar = bar

    def result(self, result: PayloadResult) -> None:
        from rich.progress import Progress

        from cirrus.runtime import Outcome

        self.done += 1
        colour = "green" if result.outcome is Outcome.SUCCEEDED else "red"
        error = f" {result.error}" if result.error else ""
        self.console.print(
            f"      [{colour}]{result.outcome}[/] {result.payload_id or '(unreadable)'}{error}"
        )
        if isinstance(self._bar, Progress):
            self._bar.update(self._bar.task_ids[0], completed=self.done)

    def stop(self) -> None:
        from rich.progress import Progress

        if isinstance(self._bar, Progress):
            self._bar.stop()
        self._bar = None


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _print_summary(console: Console, result: DemoResult) -> None:
    report = result.report
    print_ = console.print
    states = ", ".join(f"{count} {state}" for state, count in result.state_counts.items())
    print_()
    if result.ok:
        print_(f"[bold green]Demo finished:[/] {states}; the catalog is valid.")
    else:
        print_(f"[bold red]Demo finished with problems:[/] {states or 'no state records'}")
        for problem in result.all_problems:
            print_(f"  [red]-[/] {problem}", soft_wrap=True)
    print_()
    if result.catalog is not None:
        print_(f"  catalog     {_shown(result.catalog)}", soft_wrap=True)
    for collection in report.collections if report else []:
        print_(f"  collection  {_shown(collection)}", soft_wrap=True)
    for item in report.items if report else []:
        print_(f"  item        {_shown(item.path)}", soft_wrap=True)
        for cog in item.cogs:
            print_(f"    COG       {_shown(cog)}", soft_wrap=True)
        for thumbnail in item.thumbnails:
            print_(f"    thumbnail {_shown(thumbnail)}", soft_wrap=True)
    print_(f"  states      {states or 'none'} (state database {_shown(result.folder)}/.cirrus/)")
    if report is not None:
        print_(f"  checked     {report.schemas};", soft_wrap=True)
        print_("              COGs with rio-cogeo's cog_validate; thumbnails are PNG files")
        for warning in report.cog_warnings:
            print_(f"  [yellow]COG warning[/] {warning}", soft_wrap=True)
    _print_next(console, result)


def _print_next(console: Console, result: DemoResult) -> None:
    first_id = min(result.states, default="<payload id>")
    cog = next(
        (item.cogs[0] for item in (result.report.items if result.report else []) if item.cogs), None
    )
    folder = _shown(result.folder)
    lines = [
        (f"cd {shlex.quote(folder)}", "the demo is a cirrus project"),
        ("cirrus query --workflow cog-thumbnail", "state records of the payloads"),
        (f"cirrus get-state {shlex.quote(first_id)}", "one payload's state"),
        (f"cirrus get-output-payload {shlex.quote(first_id)}", "what the workflow returned"),
        ("cirrus show workflow cog-thumbnail definition", "the workflow"),
    ]
    if cog is not None:
        relative = os.path.relpath(cog, result.folder)
        lines.append((f"rio cogeo validate {shlex.quote(relative)}", "check a COG yourself"))
    lines.append(("python -m json.tool catalog/catalog.json", "the catalog's root"))
    console.print()
    console.print("Next, look at the results:")
    width = max(len(command) for command, _ in lines)
    for command, why in lines:
        console.print(f"  {command:<{width}}  [dim]# {why}[/]", soft_wrap=True)
