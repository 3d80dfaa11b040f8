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

Backends: :class:`SQLiteQueue` (the embedded default), :class:`MemoryQueue`, and any
:class:`WorkQueue` subclass named by URL scheme (entry point group
``cirrus.queue_backends``) or ``module:Class``; :mod:`cirrus.queue.resolve` lists the forms.
"""

from __future__ import annotations

from cirrus.queue.base import DEDUPLICATION_SECONDS, Message, WorkQueue
from cirrus.queue.memory import MemoryQueue
from cirrus.queue.resolve import QUEUE_BACKENDS, open_queue
from cirrus.queue.sqlite import SQLiteQueue

__all__ = [
    "DEDUPLICATION_SECONDS",
    "QUEUE_BACKENDS",
    "MemoryQueue",
    "Message",
    "SQLiteQueue",
    "WorkQueue",
    "open_queue",
]
