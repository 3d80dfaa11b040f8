"""``cirrus cost [WORKFLOW]``: what each workflow would cost on AWS per 1,000 payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cirrus.cli.common import InputFile, echo_json, project_option, require_project
from cirrus.cli.exits import reporting_errors

if TYPE_CHECKING:
    from cirrus.aws.cost import Estimate, Prices

__all__ = ["cost"]


def _samples(paths: tuple[Path, ...]) -> list[dict[str, Any]] | None:
    """Payloads from JSON files (one payload or a list) or NDJSON files."""
    from cirrus.errors import ConfigError

    if not paths:
        return None
    samples: list[dict[str, Any]] = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
            values = data if isinstance(data, list) else [data]
        except json.JSONDecodeError:
            try:
                values = [json.loads(line) for line in text.splitlines() if line.strip()]
            except json.JSONDecodeError as err:
                raise ConfigError(f"--sample {path}: neither JSON nor NDJSON: {err}") from err
        for value in values:
            if not isinstance(value, dict):
                raise ConfigError(f"--sample {path}: expected payload objects")
            samples.append(value)
    return samples


def _money(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"${value:,.4f}" if value >= 0.01 or value == 0 else f"${value:.6f}"


def _basis(line: dict[str, Any]) -> str:
    parts = []
    if line["measured"]:
        parts.append("measured: " + ", ".join(line["measured"]))
    if line["assumed"]:
        parts.append("assumed: " + ", ".join(line["assumed"]))
    return "; ".join(parts) or "exact"


def _print_tables(estimates: list[Estimate], prices: Prices) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    errors = Console(stderr=True)
    for estimate in estimates:
        data = estimate.to_dict()
        measured = (
            f"measured on {estimate.executions_measured} execution(s)"
            if estimate.executions_measured
            else "nothing measured"
        )
        table = Table(
            title=f"{estimate.workflow}: per {estimate.payloads:,} payloads ({measured})",
            title_justify="left",
        )
        table.add_column("service")
        table.add_column("what")
        table.add_column("per payload", justify="right")
        table.add_column("cost", justify="right")
        table.add_column("basis")
        for line in data["lines"]:
            table.add_row(
                line["service"],
                line["item"],
                f"{line['per_payload']:.4g} {line['unit']}",
                _money(line["cost"]),
                _basis(line),
            )
        console.print(table)
        console.print(
            f"total with a Standard workflow: [bold]{_money(data['total']['standard'])}[/]"
            f"   with an Express workflow: [bold]{_money(data['total']['express'])}[/]\n"
        )
        for note in estimate.notes:
            errors.print(f"note: {note}", highlight=False)
    errors.print(
        f"prices of {prices.region} as of {prices.date} ({', '.join(prices.files)}); "
        "pass --prices FILE for yours",
        highlight=False,
    )


@click.command()
@click.argument("workflow", required=False)
@click.option(
    "--deployment", help="The deployment whose settings count (default: the default one)."
)
@click.option(
    "--payloads",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="How many payloads the costs are for.",
)
@click.option(
    "--prices",
    "prices_file",
    type=InputFile(path_type=Path),
    help="A JSON price file over the shipped one (any key may be left out).",
)
@click.option(
    "--sample",
    "sample_files",
    multiple=True,
    type=InputFile(path_type=Path),
    help="Payloads (JSON, JSON list or NDJSON) to run once here and measure; repeatable.",
)
@click.option(
    "--no-history",
    is_flag=True,
    help="Do not read the histories kept under the payload root.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the estimates as JSON.")
@project_option
def cost(
    workflow: str | None,
    deployment: str | None,
    payloads: int,
    prices_file: Path | None,
    sample_files: tuple[Path, ...],
    no_history: bool,
    as_json: bool,
    project_dir: str | None,
) -> None:
    """Estimate the AWS cost of WORKFLOW (default: every workflow) per 1,000 payloads.

    Memory, vCPUs and states come from the build; state transitions, task durations and
    items from execution histories kept under the payload root (`keep_history: all`) or
    from --sample payloads run once here. What was not measured is assumed, and every
    line says which is which. Step Functions Standard and Express are shown side by side.
    """
    from cirrus.aws.cost import estimate_project, load_prices

    with reporting_errors():
        project = require_project(project_dir)
        prices = load_prices(prices_file)
        estimates = estimate_project(
            project,
            workflow,
            deployment=deployment,
            payloads=payloads,
            prices=prices,
            samples=_samples(sample_files),
            histories=not no_history,
        )
    if as_json:
        echo_json(
            {
                "project": project.config.name,
                "payloads": payloads,
                "prices": prices.to_dict(),
                "workflows": [estimate.to_dict() for estimate in estimates],
            }
        )
    else:
        _print_tables(estimates, prices)
