"""Running the server: the application for a pipeline, on uvicorn."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cirrus.serve.app import create_app
from cirrus.serve.reader import PipelineReader

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from cirrus.runtime import Pipeline

__all__ = ["TOKEN_ENV", "build_app", "serve"]

TOKEN_ENV = "CIRRUS_SERVE_TOKEN"  # noqa: S105 - the variable's name, not a secret
"""The environment variable ``cirrus serve`` reads its write token from."""


def build_app(pipeline: Pipeline, *, token: str | None = None) -> Starlette:
    """The application serving ``pipeline`` (writes allowed only with ``token``)."""
    reader = PipelineReader(pipeline.settings, pipeline.project, pipeline.db, pipeline.queue)
    return create_app(reader, pipeline, token=token)


def serve(
    pipeline: Pipeline, *, host: str = "127.0.0.1", port: int = 8642, token: str | None = None
) -> None:
    """Serve the API and dashboard until interrupted."""
    import uvicorn

    config = uvicorn.Config(
        build_app(pipeline, token=token),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    uvicorn.Server(config).run()
