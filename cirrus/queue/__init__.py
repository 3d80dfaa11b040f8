"""The work queue in front of the pipeline: the local counterpart of the SQS process queue.

Submitting a payload puts a message here; workers receive messages, which stay invisible
to other workers for a visibility timeout, and delete them only when the payload has reached
a decision (terminal state, skip, or invalid). A worker killed at any point therefore loses
nothing: its messages become visible again and another worker picks them up::

    from cirrus.queue import open_queue

    with open_queue("sqlite:///project/.cirrus/queue.db") as queue:
        queue.send_many(['{"type": "FeatureCollection", ...}'])
        for message in queue.receive(10, visibility_seconds=60):
            ...
            queue.delete_many([message])

A message received :attr:`~WorkQueue.max_receives` times (default 5, as upstream's SQS
redrive) without being deleted moves to the queue's dead-letter store; a worker can move
one there itself with a reason. List, count and move them back::

    queue.dead_letter([message], "the task crashed the worker")
    letters = queue.dead_letters(limit=20)     # DeadLetter(id, body, receive_count, ...)
    queue.redrive([letter.id for letter in letters])

Backends: :class:`SQLiteQueue` (the embedded default), :class:`MemoryQueue`,
:class:`SQSQueue` (``sqs://<queue name or URL>``), and any :class:`WorkQueue` subclass
named by URL scheme (entry point group ``cirrus.queue_backends``) or ``module:Class``;
:mod:`cirrus.queue.resolve` lists the forms and the ``max_receives`` option.
"""

from __future__ import annotations

import typing

from cirrus._lazy import lazy_exports as _lazy_exports
from cirrus.queue.base import (
    DEDUPLICATION_SECONDS,
    DEFAULT_MAX_RECEIVES,
    DeadLetter,
    Message,
    WorkQueue,
)
from cirrus.queue.memory import MemoryQueue
from cirrus.queue.resolve import QUEUE_BACKENDS, open_queue
from cirrus.queue.sqlite import SQLiteQueue

if typing.TYPE_CHECKING:
    from cirrus.queue.sqs import SQSQueue

__all__ = [
    "DEDUPLICATION_SECONDS",
    "DEFAULT_MAX_RECEIVES",
    "QUEUE_BACKENDS",
    "DeadLetter",
    "MemoryQueue",
    "Message",
    "SQLiteQueue",
    "SQSQueue",
    "WorkQueue",
    "open_queue",
]

# the SQS backend is imported when first asked for: an embedded worker never needs it,
# and every process would pay for importing it at start-up
__getattr__, __dir__ = _lazy_exports(__name__, {"SQSQueue": "cirrus.queue.sqs"})
