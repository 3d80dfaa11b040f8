"""``cirrus serve``: the JSON API and the dashboard."""

from __future__ import annotations

import click

from cirrus.cli.common import project_option
from cirrus.cli.exits import reporting_errors
from cirrus.cli.pipeline import open_pipeline

__all__ = ["serve"]


@click.command()
@click.option("--port", default=8642, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 makes the server reachable from other machines.",
)
@click.option(
    "--token",
    envvar="CIRRUS_SERVE_TOKEN",
    help="Allow writes (rerun, abort) to requests carrying this bearer token "
    "(env CIRRUS_SERVE_TOKEN); without it the server is read-only.",
)
@project_option
def serve(port: int, host: str, token: str | None, project_dir: str | None) -> None:
    """Serve upstream Cirrus's state API, cirrus's own routes and a web dashboard."""
    from cirrus.serve import serve as run_server

    with reporting_errors(), open_pipeline(project_dir) as pipeline:
        mode = "writes need the token" if token else "read-only"
        click.echo(
            f"dashboard: http://{_display(host)}:{port}/ui/  (API at /, {mode}; Ctrl-C stops)",
            err=True,
        )
        run_server(pipeline, host=host, port=port, token=token or None)


def _display(host: str) -> str:
    return f"[{host}]" if ":" in host else host
