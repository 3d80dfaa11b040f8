"""Fixtures for the storage tests: one store URL per backend, and a local http server."""

from __future__ import annotations

import functools
import http.server
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cirrus.storage import MemoryStore, clear_store_cache

BACKENDS = ["path", "file", "memory", "sqlite", "s3"]


@pytest.fixture(autouse=True)
def _fresh_store_cache() -> Iterator[None]:
    """Stores opened in one test are not reused by the next (temp dirs and buckets change)."""
    yield
    clear_store_cache()


@pytest.fixture(params=BACKENDS)
def root_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The root URL of an empty store, once per writable backend."""
    kind = request.param
    if kind == "path":
        yield str(tmp_path / "root")
    elif kind == "file":
        yield (tmp_path / "root").as_uri()
    elif kind == "sqlite":
        yield f"sqlite://{(tmp_path / 'objects.db').as_posix()}/root"
    elif kind == "memory":
        name = f"test-{uuid.uuid4().hex[:8]}"
        yield f"memory://{name}/root"
        MemoryStore.clear(name)
    else:
        bucket = request.getfixturevalue("s3_bucket")
        yield f"s3://{bucket}/root"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An http server on 127.0.0.1 serving a temporary folder: yields (base URL, folder)."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
