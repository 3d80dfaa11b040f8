"""One ``queue`` per backend for the contract suite, and what each backend promises.

A new backend joins the contract suite by adding one ``pytest.param`` to ``BACKENDS`` below.

Some contract points SQS can only approximate; its :class:`Traits` say which, and the
suite asserts each of those points only for the backends that promise it, so the memory
and SQLite backends are held to the whole contract:

- receive order: a standard queue delivers in roughly, not exactly, the order sent;
- counts: ``ApproximateNumberOf*`` lag by up to a minute (the suite waits for them);
- owners: SQS has none (``receivers()`` is empty, ``release()`` 0);
- keys: a standard queue does not deduplicate (the state database's claim absorbs repeats);
- stale receipts: SQS documents that an old receipt "might" still delete, and moto's does;
- timing: visibility and delays are whole seconds, so the suite waits seconds, not 50 ms;
- dead letters: SQS does not record the last receive time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cirrus.queue import DEFAULT_MAX_RECEIVES, MemoryQueue, SQLiteQueue, SQSQueue, WorkQueue
from cirrus.queue.sqs import ensure_queue
from tests.aws_server import LocalAWS


@dataclass(frozen=True)
class Traits:
    """What a backend promises beyond the common contract."""

    short: float = 0.05
    """A visibility or delay the tests wait out."""
    pause: float = 0.1
    """How long waiting out ``short`` takes."""
    ordered: bool = True
    """``receive`` returns messages in the order they were sent."""
    exact_counts: bool = True
    """``counts()`` is exact at once."""
    owners: bool = True
    """``receivers()`` and ``release()`` know who holds what."""
    deduplicates: bool = True
    """``send_many(keys=...)`` drops a key sent before."""
    stale_receipts_ignored: bool = True
    """An old receipt deletes, hides and dead-letters nothing."""
    last_received: bool = True
    """Dead letters carry ``last_received_at``."""


SQS_TRAITS = Traits(
    short=1.0,
    pause=1.2,
    ordered=False,
    exact_counts=False,
    owners=False,
    deduplicates=False,
    stale_receipts_ignored=False,
    last_received=False,
)

Opener = Callable[[pytest.FixtureRequest, Path, "int | None"], WorkQueue]


_CLIENTS: dict[str, Any] = {}
"""One SQS client per moto server (making a boto3 client takes a few hundred ms)."""


def sqs_client(aws: LocalAWS) -> Any:
    """The run's SQS client for the moto server ``aws``."""
    if aws.endpoint not in _CLIENTS:
        _CLIENTS[aws.endpoint] = aws.client("sqs")
    return _CLIENTS[aws.endpoint]


def _sqs(request: pytest.FixtureRequest, tmp: Path, max_receives: int | None) -> WorkQueue:
    """A fresh standard queue (and dead-letter queue) on the run's moto server."""
    client = sqs_client(request.getfixturevalue("aws"))
    name = f"test-{uuid.uuid4().hex[:16]}"
    ensure_queue(name, max_receives=max_receives, visibility=30, client=client)
    return SQSQueue(name, client=client)


@dataclass(frozen=True)
class Backend:
    open: Opener
    traits: Traits


BACKENDS = [
    pytest.param(Backend(lambda r, tmp, n: MemoryQueue(max_receives=n), Traits()), id="memory"),
    pytest.param(
        Backend(
            lambda r, tmp, n: SQLiteQueue(tmp / f"queue-{uuid.uuid4().hex}.db", max_receives=n),
            Traits(),
        ),
        id="sqlite",
    ),
    pytest.param(Backend(_sqs, SQS_TRAITS), id="sqs"),
]

MakeQueue = Callable[..., WorkQueue]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    chosen: Backend = request.param
    return chosen


@pytest.fixture
def traits(backend: Backend) -> Traits:
    return backend.traits


@pytest.fixture
def make_queue(
    backend: Backend, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[MakeQueue]:
    """Opens a queue of this backend: ``make_queue(max_receives=2)``."""
    opened: list[WorkQueue] = []

    def make(max_receives: int | None = DEFAULT_MAX_RECEIVES) -> WorkQueue:
        queue = backend.open(request, tmp_path, max_receives)
        opened.append(queue)
        return queue

    yield make
    for queue in opened:
        queue.close()


@pytest.fixture
def queue(make_queue: MakeQueue) -> WorkQueue:
    return make_queue()
