"""``cirrus serve``: a read-only JSON API and a web dashboard for one pipeline.

::

    from cirrus.serve import serve
    serve(pipeline, host="127.0.0.1", port=8642, token=None)   # blocks

or build the application to mount elsewhere::

    app = create_app(PipelineReader(settings, project, db, queue), pipeline, token="...")
"""

from __future__ import annotations

from cirrus.serve.app import create_app
from cirrus.serve.reader import PipelineReader
from cirrus.serve.server import build_app, serve

__all__ = ["PipelineReader", "build_app", "create_app", "serve"]
