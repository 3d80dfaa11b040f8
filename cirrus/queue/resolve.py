"""Open the work queue a URL, a file path or a ``module:Class`` path names.

Accepted forms (the one rule of :mod:`cirrus._backends`, shared with state databases)::

    memory:// (or memory)           MemoryQueue (nothing persists)
    sqlite:///abs/path/queue.db     SQLiteQueue (sqlite://relative.db is relative), any case
    /any/path/queue.db              SQLiteQueue for a plain path ending .db, .sqlite, .sqlite3
    sqs://<queue name or URL>       SQSQueue (a name is looked up in the region; needs boto3)
    <scheme>://...                  a backend registered under the ``cirrus.queue_backends``
                                    entry point group as <scheme>, opened with ``from_url(url)``
    package.module:ClassName        any WorkQueue subclass, created with no arguments

**The receive limit** (see :mod:`cirrus.queue.base`) is 5 unless the URL says otherwise:
``memory://?max_receives=3``, ``sqlite:///abs/path/queue.db?max_receives=3``, and
``max_receives=none`` for no limit. A plain path gets the default. An SQS queue's limit is
its own redrive policy (``maxReceiveCount``), so an ``sqs://`` URL refuses the option: set it
on the queue (:func:`cirrus.queue.sqs.ensure_queue`). ``sqs://`` URLs take
``?wait_seconds=N`` instead (long polling, 0-20 s).
"""

from __future__ import annotations

from cirrus._backends import SQLITE_SUFFIXES, BackendKind, Origin, Scheme, resolve
from cirrus.queue.base import DEFAULT_MAX_RECEIVES, WorkQueue, url_options
from cirrus.queue.memory import MemoryQueue
from cirrus.queue.sqlite import SQLiteQueue

__all__ = ["ENTRY_POINT_GROUP", "QUEUE_BACKENDS", "open_queue"]

ENTRY_POINT_GROUP = "cirrus.queue_backends"
"""Entry point group where packages register queue backends by URL scheme."""

QUEUE_BACKENDS: BackendKind[WorkQueue] = BackendKind(
    "work queue",
    WorkQueue,
    schemes={
        "memory": Scheme("cirrus.queue.memory:MemoryQueue", "memory://"),
        "sqlite": Scheme(
            "cirrus.queue.sqlite:SQLiteQueue", "sqlite:///path/queue.db", needs_location=True
        ),
        "sqs": Scheme(
            "cirrus.queue.sqs:SQSQueue", "sqs://<queue name or URL>", needs_location=True
        ),
    },
    aliases={"memory": "memory://"},
    path_scheme="sqlite",
    path_suffixes=SQLITE_SUFFIXES,
    entry_point_group=ENTRY_POINT_GROUP,
    class_paths=True,
)
"""What a work queue URL may name (pass it to :func:`cirrus._backends.resolve`)."""


def open_queue(url: str) -> WorkQueue:
    """Open the work queue ``url`` names.

    Args:
        url: see the module docstring for accepted forms.

    Raises:
        ConfigError: the URL names no known queue (the message lists the valid forms), or
            has an option the backend does not take.
        StateError: the queue was found but could not be opened.
    """
    found = resolve(url, QUEUE_BACKENDS)
    if found.origin is Origin.CLASS:
        return found.cls()
    if found.origin is Origin.PLUGIN:
        return found.cls.from_url(found.url)
    if found.scheme == "sqs":
        from cirrus.queue.sqs import SQSQueue  # only AWS deployments pay for importing it

        return SQSQueue.from_url(found.url)
    location, options = found.location, dict[str, int | None]()
    if found.url.lower().startswith(f"{found.scheme}://"):  # a plain path takes no options
        location, options = url_options(found.location, found.url, ("max_receives",))
    max_receives = options.get("max_receives", DEFAULT_MAX_RECEIVES)
    if found.scheme == "sqlite":
        return SQLiteQueue(location, max_receives=max_receives)
    return MemoryQueue(max_receives=max_receives)
