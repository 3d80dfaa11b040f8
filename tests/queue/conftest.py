"""One ``queue`` per backend for the contract suite.

A new backend joins the contract suite by adding one ``pytest.param`` to ``BACKENDS`` below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cirrus.queue import MemoryQueue, SQLiteQueue, WorkQueue

Factory = Callable[[Path], WorkQueue]

BACKENDS = [
    pytest.param(lambda tmp: MemoryQueue(), id="memory"),
    pytest.param(lambda tmp: SQLiteQueue(tmp / "queue.db"), id="sqlite"),
]


@pytest.fixture(params=BACKENDS)
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkQueue]:
    factory: Factory = request.param
    with factory(tmp_path) as opened:
        yield opened
